using Npgsql;
using NpgsqlTypes;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Inbox;

/// <summary>
/// The inbox's statement: records message keys in the caller's transaction and returns those it had not seen. A
/// concurrent delivery of the same message (another batch, another instance) waits on the key until that transaction
/// ends. Set-based (<see cref="UnnestedRows{T}"/>): one statement whatever the number of keys.
/// </summary>
internal static class InboxSql
{
    /// <summary>The INSERT; its rows are the keys not seen before, read with <see cref="ReadAdded"/>.</summary>
    public static NpgsqlBatchCommand Add(IReadOnlyList<InboxKey> keys, DateTimeOffset now)
    {
        var rows = new UnnestedRows<InboxKey>(keys)
            .Column("message_id", NpgsqlDbType.Uuid, k => k.MessageId)
            .Column("consumer", NpgsqlDbType.Text, k => Consumer(k.Kind));
        var receivedAt = rows.Value(now, NpgsqlDbType.TimestampTz);
        return rows.Command(
            $"""
            INSERT INTO inbox ({rows.Names}, received_at)
            SELECT {rows.Names}, {receivedAt} FROM {rows.Source}
            ON CONFLICT DO NOTHING RETURNING message_id, consumer
            """);
    }

    public static InboxKey ReadAdded(NpgsqlDataReader reader) => new(reader.GetGuid(0), Kind(reader.GetString(1)));

    /// <summary>The inbox's name for a kind: the queue it arrives on (rows written before the kind existed use it too).</summary>
    private static string Consumer(DeviceEventKind kind) => kind switch
    {
        DeviceEventKind.Registered => DeviceQueues.Registered,
        DeviceEventKind.Deleted => DeviceQueues.Deleted,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown event kind."),
    };

    private static DeviceEventKind Kind(string consumer) => consumer switch
    {
        DeviceQueues.Registered => DeviceEventKind.Registered,
        DeviceQueues.Deleted => DeviceEventKind.Deleted,
        _ => throw new InvalidDataException($"The inbox returned an unknown consumer '{consumer}'."),
    };
}
