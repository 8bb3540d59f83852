using Npgsql;
using NpgsqlTypes;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Devices;

/// <summary>
/// What a lifecycle batch reads and writes, inside the batch's transaction: the inbox, the device rows, the outbox.
/// Set-based (<see cref="UnnestedRows{T}"/>): each step is one round trip whatever the batch size.
/// </summary>
internal sealed class DeviceStore(NpgsqlConnection connection, NpgsqlTransaction transaction)
{
    /// <summary>
    /// Records the keys in the inbox; returns those it had not seen. A concurrent delivery of the same message (another
    /// batch, another instance) waits on the key until this transaction ends.
    /// </summary>
    public async Task<HashSet<InboxKey>> AddToInboxAsync(IReadOnlyList<InboxKey> keys, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = new UnnestedRows<InboxKey>(keys)
            .Column("message_id", NpgsqlDbType.Uuid, k => k.MessageId)
            .Column("consumer", NpgsqlDbType.Text, k => Consumer(k.Kind));
        var receivedAt = rows.Value(now, NpgsqlDbType.TimestampTz);
        await using var batch = Batch(rows.Command(
            $"""
            INSERT INTO inbox ({rows.Names}, received_at)
            SELECT {rows.Names}, {receivedAt} FROM {rows.Source}
            ON CONFLICT DO NOTHING RETURNING message_id, consumer
            """));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var added = new HashSet<InboxKey>();
        while (await reader.ReadAsync(cancellationToken))
        {
            added.Add(new InboxKey(reader.GetGuid(0), Kind(reader.GetString(1))));
        }

        return added;
    }

    /// <summary>
    /// The devices' rows, locked until the transaction ends; a device never seen is first stored as
    /// <see cref="Device.Unknown"/>, so that its deletion is remembered.
    /// </summary>
    public async Task<List<Device>> CreateAndLockAsync(IEnumerable<(string TenantId, string DeviceId)> keys, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Key order for both statements: two transactions locking overlapping devices then queue instead of deadlocking.
        var unknown = keys.Distinct()
            .OrderBy(k => k.TenantId, StringComparer.Ordinal).ThenBy(k => k.DeviceId, StringComparer.Ordinal)
            .Select(k => Device.Unknown(k.TenantId, k.DeviceId) with { UpdatedAt = now })
            .ToList();
        var devices = new List<Device>(unknown.Count);
        if (unknown.Count == 0)
        {
            return devices;
        }

        var created = new UnnestedRows<Device>(unknown)
            .Column("tenant_id", NpgsqlDbType.Text, d => d.TenantId)
            .Column("device_id", NpgsqlDbType.Text, d => d.DeviceId)
            .Column("username", NpgsqlDbType.Text, d => d.Username)
            .Column("status", NpgsqlDbType.Integer, d => (int)d.Status)
            .Column("updated_at", NpgsqlDbType.TimestampTz, d => d.UpdatedAt);
        var locked = new UnnestedRows<Device>(unknown)
            .Column("tenant_id", NpgsqlDbType.Text, d => d.TenantId)
            .Column("device_id", NpgsqlDbType.Text, d => d.DeviceId);
        await using var batch = Batch(
            created.Command(
                $"""
                INSERT INTO devices ({created.Names})
                SELECT {created.Names} FROM {created.Source} ORDER BY n
                ON CONFLICT (tenant_id, device_id) DO NOTHING
                """),
            locked.Command(
                $"""
                SELECT dev.tenant_id, dev.device_id, dev.username, dev.status, dev.registered_at, dev.deleted_at
                FROM {locked.Source}
                JOIN devices AS dev ON dev.tenant_id = x.tenant_id AND dev.device_id = x.device_id
                ORDER BY x.n
                FOR UPDATE OF dev
                """));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (reader.FieldCount == 0 && await reader.NextResultAsync(cancellationToken))
        {
            // past the INSERT's result, whether or not the reader stops at results without rows
        }

        while (await reader.ReadAsync(cancellationToken))
        {
            devices.Add(new Device
            {
                TenantId = reader.GetString(0),
                DeviceId = reader.GetString(1),
                Username = reader.GetString(2),
                Status = (DeviceStatus)reader.GetInt32(3),
                RegisteredAt = reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
                DeletedAt = reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
            });
        }

        return devices;
    }

    /// <summary>Writes the devices' new states and the replies, in one round trip.</summary>
    public async Task SaveAsync(IReadOnlyList<Device> changed, IReadOnlyList<OutboxMessage> replies, CancellationToken cancellationToken)
    {
        await using var batch = Batch();
        if (changed.Count > 0)
        {
            var devices = new UnnestedRows<Device>(changed)
                .Column("tenant_id", NpgsqlDbType.Text, d => d.TenantId)
                .Column("device_id", NpgsqlDbType.Text, d => d.DeviceId)
                .Column("username", NpgsqlDbType.Text, d => d.Username)
                .Column("status", NpgsqlDbType.Integer, d => (int)d.Status)
                .Column("password_hash", NpgsqlDbType.Text, d => d.PasswordHash)
                .Column("registered_at", NpgsqlDbType.TimestampTz, d => d.RegisteredAt)
                .Column("deleted_at", NpgsqlDbType.TimestampTz, d => d.DeletedAt)
                .Column("updated_at", NpgsqlDbType.TimestampTz, d => d.UpdatedAt);
            batch.BatchCommands.Add(devices.Command(
                $"""
                UPDATE devices AS dev
                SET username = x.username, status = x.status, password_hash = x.password_hash, registered_at = x.registered_at, deleted_at = x.deleted_at,
                    updated_at = x.updated_at
                FROM {devices.Source}
                WHERE dev.tenant_id = x.tenant_id AND dev.device_id = x.device_id
                """));
        }

        if (replies.Count > 0)
        {
            var outbox = new UnnestedRows<OutboxMessage>(replies)
                .Column("message_id", NpgsqlDbType.Uuid, o => o.MessageId)
                .Column("message_type", NpgsqlDbType.Text, o => o.MessageType)
                .Column("body", NpgsqlDbType.Text, o => o.Body)
                .Column("secret", NpgsqlDbType.Bytea, o => o.Secret)
                .Column("tenant_id", NpgsqlDbType.Text, o => o.TenantId)
                .Column("device_id", NpgsqlDbType.Text, o => o.DeviceId)
                .Column("destination_address", NpgsqlDbType.Text, o => o.DestinationAddress)
                .Column("request_id", NpgsqlDbType.Uuid, o => o.RequestId)
                .Column("conversation_id", NpgsqlDbType.Uuid, o => o.ConversationId)
                .Column("correlation_id", NpgsqlDbType.Uuid, o => o.CorrelationId)
                .Column("initiator_id", NpgsqlDbType.Uuid, o => o.InitiatorId)
                .Column("awaits_broker", NpgsqlDbType.Boolean, o => o.AwaitsBroker)
                .Column("created_at", NpgsqlDbType.TimestampTz, o => o.CreatedAt)
                .Column("attempts", NpgsqlDbType.Integer, o => o.Attempts);

            // In list order: the outbox id is the order in which replies to one device are sent. Due at once by
            // PostgreSQL's clock, which every instance's dispatcher compares it with (OutboxDispatcher.ClaimAsync).
            batch.BatchCommands.Add(outbox.Command(
                $"INSERT INTO outbox ({outbox.Names}, next_attempt_at) SELECT {outbox.Names}, statement_timestamp() FROM {outbox.Source} ORDER BY n"));
        }

        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The inbox's name for a kind: the queue it arrives on (rows written before the kind existed use it too).</summary>
    private static string Consumer(DeviceEventKind kind) => kind switch
    {
        DeviceEventKind.Registered => DeviceLifecycleService.RegisteredConsumer,
        DeviceEventKind.Deleted => DeviceLifecycleService.DeletedConsumer,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown event kind."),
    };

    private static DeviceEventKind Kind(string consumer) => consumer switch
    {
        DeviceLifecycleService.RegisteredConsumer => DeviceEventKind.Registered,
        DeviceLifecycleService.DeletedConsumer => DeviceEventKind.Deleted,
        _ => throw new InvalidDataException($"The inbox returned an unknown consumer '{consumer}'."),
    };

    private NpgsqlBatch Batch(params NpgsqlBatchCommand[] commands)
    {
        var batch = new NpgsqlBatch(connection, transaction);
        foreach (var command in commands)
        {
            batch.BatchCommands.Add(command);
        }

        return batch;
    }
}
