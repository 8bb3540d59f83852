using Npgsql;

namespace Provisioning.Worker.Brokers;

/// <summary>
/// What a broker runs with, recorded by the projection that keeps it (in process, or its agent) in the <c>brokers</c>
/// table. <c>applied_snapshot</c> is the database snapshot its files were rendered from, proven loaded: every change
/// that snapshot sees is in effect on that broker (<c>pg_visible_in_snapshot(changed_xid::text::xid8,
/// applied_snapshot)</c>). <c>heartbeat_at</c> says the agent is alive and its broker reloadable; a broker silent past
/// <c>Brokers:SilenceTimeout</c> is no longer waited for (<see cref="Outbox.ReplyRelease"/>).
/// </summary>
public static class BrokerCheckpoint
{
    /// <summary>Records, in the caller's transaction, that <paramref name="broker"/> runs with <paramref name="snapshot"/>; never moves it backwards.</summary>
    public static async Task SaveAsync(NpgsqlConnection connection, BrokerIdentity broker, string snapshot, int activeDevices, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO brokers (name, group_name, applied_snapshot, active_devices, applied_at, heartbeat_at)
            VALUES (@name, @group, @snapshot::pg_snapshot, @devices, now(), now())
            ON CONFLICT (name) DO UPDATE SET
                applied_snapshot = CASE
                    WHEN brokers.group_name <> excluded.group_name OR brokers.applied_snapshot IS NULL
                         OR pg_snapshot_xmin(brokers.applied_snapshot) <= pg_snapshot_xmin(excluded.applied_snapshot)
                    THEN excluded.applied_snapshot ELSE brokers.applied_snapshot END,
                group_name = excluded.group_name, active_devices = excluded.active_devices,
                applied_at = excluded.applied_at, heartbeat_at = excluded.heartbeat_at
            """,
            connection);
        command.Parameters.AddWithValue("name", broker.Name);
        command.Parameters.AddWithValue("group", broker.Group);
        command.Parameters.AddWithValue("snapshot", snapshot);
        command.Parameters.AddWithValue("devices", activeDevices);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The agent is alive and its last cycle succeeded. A broker moved to another group forgets what it applied in the old one.</summary>
    public static async Task HeartbeatAsync(NpgsqlConnection connection, BrokerIdentity broker, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO brokers (name, group_name, heartbeat_at) VALUES (@name, @group, now())
            ON CONFLICT (name) DO UPDATE SET heartbeat_at = now(), group_name = excluded.group_name,
                applied_snapshot = CASE WHEN brokers.group_name = excluded.group_name THEN brokers.applied_snapshot END
            """,
            connection);
        command.Parameters.AddWithValue("name", broker.Name);
        command.Parameters.AddWithValue("group", broker.Group);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>One broker of the fleet: its unique name and the group whose devices it holds.</summary>
public sealed record BrokerIdentity(string Name, string Group);
