using Npgsql;

namespace Provisioning.Worker.Projection;

/// <summary>
/// What the projection last proved the broker runs with, shared by every worker instance (one row). Meaning: every
/// device change whose <c>changed_xid</c> is below <see cref="AppliedXmin"/> is in effect on the broker (passwd file
/// and acl_file loaded); a change at or above it may or may not be. Saved in the same transaction that releases the
/// replies, never moved backwards. Read by <c>/health/ready</c> (<see cref="Health.OutboxBacklog"/>) and by operators:
/// <c>SELECT d.changed_xid &lt; c.applied_xmin FROM devices d, projection_checkpoint c WHERE d.username = '…'</c>
/// tells whether the broker has taken a device's latest change.
/// </summary>
public sealed class ProjectionCheckpoint
{
    public const int SingletonId = 1;

    public int Id { get; init; } = SingletonId;

    /// <summary>xmin of the database snapshot the files were rendered from.</summary>
    public long AppliedXmin { get; set; }

    public int ActiveDevices { get; set; }

    public DateTimeOffset AppliedAt { get; set; }

    /// <summary>Records, in the caller's transaction, that the broker runs with the snapshot of <paramref name="appliedXmin"/>.</summary>
    public static async Task SaveAsync(NpgsqlConnection connection, long appliedXmin, int activeDevices, DateTimeOffset appliedAt, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO projection_checkpoint (id, applied_xmin, active_devices, applied_at) VALUES (@id, @xmin, @devices, @at)
            ON CONFLICT (id) DO UPDATE SET applied_xmin = excluded.applied_xmin, active_devices = excluded.active_devices, applied_at = excluded.applied_at
            WHERE projection_checkpoint.applied_xmin <= excluded.applied_xmin
            """,
            connection);
        command.Parameters.AddWithValue("id", SingletonId);
        command.Parameters.AddWithValue("xmin", appliedXmin);
        command.Parameters.AddWithValue("devices", activeDevices);
        command.Parameters.AddWithValue("at", appliedAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
