using Microsoft.EntityFrameworkCore;
using Npgsql;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Brokers;

/// <summary>The fleet as the <c>brokers</c> table says: read by the central worker's health and metrics and by <c>brokers list</c>; changed by <c>brokers out|in</c>.</summary>
public static class BrokerRecords
{
    /// <summary>Every broker that has ever reported, by group then name; <paramref name="silenceTimeout"/> decides who is live.</summary>
    public static async Task<IReadOnlyList<BrokerRecord>> ListAsync(ProvisioningDbContext db, TimeSpan silenceTimeout, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand(
                """
                SELECT name, group_name, taken_out, heartbeat_at > now() - @silence,
                       extract(epoch FROM now() - heartbeat_at)::float8, applied_at, active_devices,
                       pg_snapshot_xmin(applied_snapshot)::text::bigint,
                       (SELECT count(*) FROM outbox o WHERE o.awaits_broker AND o.broker_group = b.group_name
                          AND (b.applied_snapshot IS NULL OR NOT pg_visible_in_snapshot(o.change_xid::text::xid8, b.applied_snapshot)))
                FROM brokers b ORDER BY group_name, name
                """,
                (NpgsqlConnection)db.Database.GetDbConnection());
            command.Parameters.AddWithValue("silence", silenceTimeout);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var brokers = new List<BrokerRecord>();
            while (await reader.ReadAsync(cancellationToken))
            {
                brokers.Add(new BrokerRecord(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetBoolean(2),
                    !reader.IsDBNull(3) && reader.GetBoolean(3),
                    reader.IsDBNull(4) ? null : TimeSpan.FromSeconds(reader.GetDouble(4)),
                    reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                    reader.GetInt32(6),
                    reader.IsDBNull(7) ? null : reader.GetInt64(7),
                    reader.GetInt64(8)));
            }

            return brokers;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Removes a broker's row (it left the fleet for good); false when no broker has that name.</summary>
    public static async Task<bool> ForgetAsync(ProvisioningDbContext db, string name, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlAsync($"DELETE FROM brokers WHERE name = {name}", cancellationToken) == 1;

    /// <summary>Takes a broker out of the release rule (replies stop waiting for it) or puts it back; false when no broker has that name.</summary>
    public static async Task<bool> SetTakenOutAsync(ProvisioningDbContext db, string name, bool takenOut, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlAsync($"UPDATE brokers SET taken_out = {takenOut} WHERE name = {name}", cancellationToken) == 1;
}

/// <summary>
/// One broker: <see cref="Live"/> when not taken out and heard within the silence timeout; <see cref="Behind"/>,
/// the replies of its group that wait for a change it has not applied.
/// </summary>
public sealed record BrokerRecord(
    string Name,
    string Group,
    bool TakenOut,
    bool Heard,
    TimeSpan? HeartbeatAge,
    DateTimeOffset? AppliedAt,
    int Devices,
    long? AppliedXmin,
    long Behind)
{
    public bool Live => Heard && !TakenOut;

    /// <summary>Not taken out, and not heard within the silence timeout: replies no longer wait for it, and an operator should look.</summary>
    public bool Silent => !TakenOut && !Heard;
}
