using Npgsql;
using NpgsqlTypes;
using Provisioning.Worker.Inbox;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Devices;

/// <summary>
/// What a lifecycle transaction reads and writes: the inbox (<see cref="InboxSql"/>), the device rows, the outbox
/// (<see cref="OutboxSql"/>). Set-based (<see cref="UnnestedRows{T}"/>): each step is one round trip whatever the
/// batch size.
/// </summary>
internal sealed class DeviceStore(NpgsqlConnection connection, NpgsqlTransaction transaction)
{
    /// <summary>Records the keys in the inbox (<see cref="InboxSql"/>); returns those it had not seen.</summary>
    public async Task<HashSet<InboxKey>> AddToInboxAsync(IReadOnlyList<InboxKey> keys, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var batch = Batch(InboxSql.Add(keys, now));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var added = new HashSet<InboxKey>();
        while (await reader.ReadAsync(cancellationToken))
        {
            added.Add(InboxSql.ReadAdded(reader));
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
            batch.BatchCommands.Add(OutboxSql.Add(replies));
        }

        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
    }

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
