using Microsoft.EntityFrameworkCore;
using Npgsql;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Health;

/// <summary>
/// The replies not yet delivered: those waiting for the brokers to apply their change (<see cref="Outbox.ReplyRelease"/>),
/// those ready to send, and the oldest one's creation time; and the devices whose latest change some live broker is
/// not yet known to run with (changed at or after the oldest live broker's checkpoint xmin, see
/// <see cref="Brokers.BrokerCheckpoint"/>; counted up to 10,001).
/// </summary>
public sealed record OutboxBacklog(long AwaitingBroker, long ReadyToSend, DateTimeOffset? OldestCreatedAt, long UnconfirmedDevices = 0)
{
    public const int UnconfirmedDevicesCap = 10_001;

    public long Total => AwaitingBroker + ReadyToSend;

    public TimeSpan OldestAge(DateTimeOffset now) => OldestCreatedAt is { } oldest && now > oldest ? now - oldest : TimeSpan.Zero;

    /// <summary>One query; the oldest row comes from the primary key (ids grow with time), the counts from a scan of a table that is small when all is well.</summary>
    public static async Task<OutboxBacklog> ReadAsync(ProvisioningDbContext db, TimeSpan silenceTimeout, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand(
                """
                SELECT count(*) FILTER (WHERE NOT due),
                       count(*) FILTER (WHERE due),
                       (SELECT created_at FROM outbox ORDER BY id LIMIT 1),
                       (SELECT count(*) FROM (SELECT 1 FROM devices
                          WHERE changed_xid >= coalesce((SELECT min(pg_snapshot_xmin(applied_snapshot)::text::bigint) FROM brokers
                                                         WHERE NOT taken_out AND heartbeat_at > now() - @silence), 0)
                          LIMIT 10001) unconfirmed)
                FROM (SELECT NOT awaits_broker OR reply_released(broker_group, change_xid, @silence) AS due FROM outbox) o
                """,
                (NpgsqlConnection)db.Database.GetDbConnection());
            command.Parameters.AddWithValue("silence", silenceTimeout);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return new OutboxBacklog(
                reader.GetInt64(0),
                reader.GetInt64(1),
                reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
                reader.GetInt64(3));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
