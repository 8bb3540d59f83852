using System.Data;
using Npgsql;
using NpgsqlTypes;
using Provisioning.Contracts;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Passwd;

namespace Provisioning.Worker.Devices;

/// <summary>A lifecycle event waiting for its transaction, and the consumer waiting for its outcome.</summary>
internal sealed class LifecycleRequest(string consumer, DeviceEvent e)
{
    public string Consumer { get; } = consumer;

    public DeviceEvent Event { get; } = e;

    public bool IsRegistration => Consumer == DeviceLifecycleService.RegisteredConsumer;

    public TaskCompletionSource<LifecycleOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// The rules of DESIGN.md §2 applied to a batch of events in ONE transaction, with set-based statements: inbox rows
/// (dedupe), device rows created if needed and locked (in key order), the changes, the outbox rows. Four round trips
/// whatever the batch size. Events are applied in arrival order, so two events for one device behave as if each had
/// its own transaction, one after the other.
/// </summary>
internal static class LifecycleBatch
{
    /// <returns>The outcome of each request, in order.</returns>
    public static async Task<LifecycleOutcome[]> ApplyAsync(
        NpgsqlConnection connection, IReadOnlyList<LifecycleRequest> requests, MosquittoOptions mosquitto, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var outcomes = new LifecycleOutcome[requests.Count];
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

        // 1. Inbox: a concurrent delivery of the same message (another batch, another instance) waits on the key until this commits.
        var firstOfBatch = new Dictionary<(Guid, string), int>();
        for (var i = 0; i < requests.Count; i++)
        {
            firstOfBatch.TryAdd((requests[i].Event.MessageId, requests[i].Consumer), i);
        }

        var fresh = new HashSet<(Guid, string)>();
        await using (var inbox = new NpgsqlCommand(
            """
            INSERT INTO inbox (message_id, consumer, received_at)
            SELECT m, c, $3 FROM unnest($1::uuid[], $2::text[]) AS x(m, c)
            ON CONFLICT DO NOTHING RETURNING message_id, consumer
            """,
            connection,
            transaction))
        {
            inbox.Parameters.Add(Array(firstOfBatch.Keys.Select(k => k.Item1).ToArray(), NpgsqlDbType.Uuid));
            inbox.Parameters.Add(Array(firstOfBatch.Keys.Select(k => k.Item2).ToArray(), NpgsqlDbType.Text));
            inbox.Parameters.Add(new NpgsqlParameter { Value = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            await using var reader = await inbox.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                fresh.Add((reader.GetGuid(0), reader.GetString(1)));
            }
        }

        var work = new List<int>(requests.Count);
        for (var i = 0; i < requests.Count; i++)
        {
            var key = (requests[i].Event.MessageId, requests[i].Consumer);
            if (firstOfBatch[key] == i && fresh.Contains(key))
            {
                work.Add(i);
            }
            else
            {
                outcomes[i] = LifecycleOutcome.Duplicate;
            }
        }

        if (work.Count == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return outcomes;
        }

        // 2. Device rows of the valid events: created when unknown (a deletion of an unknown device is remembered), then locked.
        var devices = await LockDevicesAsync(connection, transaction, work.Select(i => requests[i].Event).Where(IsValid), now, cancellationToken);

        // The time read again once the row locks are held: two batches (two instances) may start in one order and take
        // the locks in the other, and issuedAt/revokedAt must follow the order in which the credentials really changed.
        now = Later(now, clock.GetUtcNow());

        // 3. The rules, in arrival order. New credentials are hashed in parallel first: PBKDF2 is the CPU-bound part.
        var credentials = NewCredentials(work.Where(i => requests[i].IsRegistration && IsValid(requests[i].Event)).ToList(), mosquitto.HashIterations);
        var outbox = new List<OutboxMessage>(work.Count);
        foreach (var i in work)
        {
            var e = requests[i].Event;
            if (Problem(e) is { } rejection)
            {
                outbox.Add(Rejected(e, rejection.Code, rejection.Reason, now));
                outcomes[i] = LifecycleOutcome.Rejected;
                continue;
            }

            var device = devices[(e.TenantId!, e.DeviceId!)];
            var occurredAt = e.OccurredAt.ToUniversalTime();
            if (requests[i].IsRegistration)
            {
                if (device.DeletedAt is { } deletedAt && occurredAt <= deletedAt)
                {
                    outbox.Add(Rejected(e, RejectionCodes.Stale, $"registration occurred at {occurredAt:O}, not later than the device's deletion at {deletedAt:O}", now));
                    outcomes[i] = LifecycleOutcome.Rejected;
                    continue;
                }

                var (password, hash) = credentials[i];
                device.Status = DeviceStatus.Active;
                device.PasswordHash = hash;
                device.RegisteredAt = device.RegisteredAt is { } registeredAt && registeredAt > occurredAt ? registeredAt : occurredAt;
                device.Changed = true;
                outbox.Add(OutboxWriter.Create(
                    new CredentialsIssued
                    {
                        TenantId = device.TenantId,
                        DeviceId = device.DeviceId,
                        Username = device.Username,
                        Password = password,
                        BrokerHost = mosquitto.BrokerHost,
                        BrokerPort = mosquitto.BrokerPort,
                        IssuedAt = now,
                    },
                    e,
                    device.TenantId,
                    device.DeviceId,
                    awaitsBroker: true,
                    now));
                outcomes[i] = LifecycleOutcome.Issued;
            }
            else
            {
                if (device.Status == DeviceStatus.Active && device.RegisteredAt is { } registeredAt && occurredAt < registeredAt)
                {
                    outbox.Add(Rejected(e, RejectionCodes.Stale, $"deletion occurred at {occurredAt:O}, earlier than the device's registration at {registeredAt:O}", now));
                    outcomes[i] = LifecycleOutcome.Rejected;
                    continue;
                }

                device.Status = DeviceStatus.Deleted;
                device.PasswordHash = null;
                device.DeletedAt = device.DeletedAt is { } deletedAt && deletedAt > occurredAt ? deletedAt : occurredAt;
                device.Changed = true;

                // Announced only once the projection has run, even for an unknown device: an older reply may still be waiting on it.
                outbox.Add(OutboxWriter.Create(
                    new CredentialsRevoked { TenantId = device.TenantId, DeviceId = device.DeviceId, Username = device.Username, RevokedAt = now },
                    e,
                    device.TenantId,
                    device.DeviceId,
                    awaitsBroker: true,
                    now));
                outcomes[i] = LifecycleOutcome.Revoked;
            }
        }

        // 4. Write the final state of each changed device and the replies, then commit.
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            var changed = devices.Values.Where(d => d.Changed).ToList();
            if (changed.Count > 0)
            {
                batch.BatchCommands.Add(Command(
                    """
                    UPDATE devices AS dev
                    SET status = x.s, password_hash = x.h, registered_at = x.r, deleted_at = x.del, updated_at = $7
                    FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[]) AS x(t, d, s, h, r, del)
                    WHERE dev.tenant_id = x.t AND dev.device_id = x.d
                    """,
                    Array(changed.Select(d => d.TenantId).ToArray(), NpgsqlDbType.Text),
                    Array(changed.Select(d => d.DeviceId).ToArray(), NpgsqlDbType.Text),
                    Array(changed.Select(d => (int)d.Status).ToArray(), NpgsqlDbType.Integer),
                    Array(changed.Select(d => d.PasswordHash).ToArray(), NpgsqlDbType.Text),
                    Array(changed.Select(d => d.RegisteredAt).ToArray(), NpgsqlDbType.TimestampTz),
                    Array(changed.Select(d => d.DeletedAt).ToArray(), NpgsqlDbType.TimestampTz),
                    new NpgsqlParameter { Value = now, NpgsqlDbType = NpgsqlDbType.TimestampTz }));
            }

            batch.BatchCommands.Add(Command(
                """
                INSERT INTO outbox (message_id, message_type, body, tenant_id, device_id, destination_address, request_id, conversation_id,
                                    correlation_id, initiator_id, awaits_broker, created_at, attempts, next_attempt_at)
                SELECT m, ty, b, t, d, dest, req, conv, corr, init, aw, $12, 0, $12
                FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::uuid[], $9::uuid[], $10::uuid[], $11::boolean[])
                     WITH ORDINALITY AS x(m, ty, b, t, d, dest, req, conv, corr, init, aw, n)
                ORDER BY n
                """,
                Array(outbox.Select(o => o.MessageId).ToArray(), NpgsqlDbType.Uuid),
                Array(outbox.Select(o => o.MessageType).ToArray(), NpgsqlDbType.Text),
                Array(outbox.Select(o => o.Body).ToArray(), NpgsqlDbType.Text),
                Array(outbox.Select(o => o.TenantId).ToArray(), NpgsqlDbType.Text),
                Array(outbox.Select(o => o.DeviceId).ToArray(), NpgsqlDbType.Text),
                Array(outbox.Select(o => o.DestinationAddress).ToArray(), NpgsqlDbType.Text),
                Array(outbox.Select(o => o.RequestId).ToArray(), NpgsqlDbType.Uuid),
                Array(outbox.Select(o => o.ConversationId).ToArray(), NpgsqlDbType.Uuid),
                Array(outbox.Select(o => o.CorrelationId).ToArray(), NpgsqlDbType.Uuid),
                Array(outbox.Select(o => o.InitiatorId).ToArray(), NpgsqlDbType.Uuid),
                Array(outbox.Select(o => o.AwaitsBroker).ToArray(), NpgsqlDbType.Boolean),
                new NpgsqlParameter { Value = now, NpgsqlDbType = NpgsqlDbType.TimestampTz }));
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }

    private static async Task<Dictionary<(string, string), DeviceState>> LockDevicesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<DeviceEvent> events, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Key order for both statements: two transactions locking overlapping devices then queue instead of deadlocking.
        var keys = events.Select(e => (Tenant: e.TenantId!, Device: e.DeviceId!)).Distinct()
            .OrderBy(k => k.Tenant, StringComparer.Ordinal).ThenBy(k => k.Device, StringComparer.Ordinal).ToList();
        var devices = new Dictionary<(string, string), DeviceState>(keys.Count);
        if (keys.Count == 0)
        {
            return devices;
        }

        var tenants = keys.Select(k => k.Tenant).ToArray();
        var deviceIds = keys.Select(k => k.Device).ToArray();
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Command(
            """
            INSERT INTO devices (tenant_id, device_id, username, status, updated_at)
            SELECT t, d, u, $4, $5 FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS x(t, d, u, n) ORDER BY n
            ON CONFLICT (tenant_id, device_id) DO NOTHING
            """,
            Array(tenants, NpgsqlDbType.Text),
            Array(deviceIds, NpgsqlDbType.Text),
            Array(keys.Select(k => DeviceIdentity.Username(k.Tenant, k.Device)).ToArray(), NpgsqlDbType.Text),
            new NpgsqlParameter { Value = (int)DeviceStatus.Deleted, NpgsqlDbType = NpgsqlDbType.Integer },
            new NpgsqlParameter { Value = now, NpgsqlDbType = NpgsqlDbType.TimestampTz }));
        batch.BatchCommands.Add(Command(
            """
            SELECT dev.tenant_id, dev.device_id, dev.username, dev.status, dev.registered_at, dev.deleted_at
            FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(t, d, n)
            JOIN devices AS dev ON dev.tenant_id = x.t AND dev.device_id = x.d
            ORDER BY x.n
            FOR UPDATE OF dev
            """,
            Array(tenants, NpgsqlDbType.Text),
            Array(deviceIds, NpgsqlDbType.Text)));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (reader.FieldCount == 0 && await reader.NextResultAsync(cancellationToken))
        {
            // past the INSERT's result, whether or not the reader stops at results without rows
        }

        while (await reader.ReadAsync(cancellationToken))
        {
            var state = new DeviceState(reader.GetString(0), reader.GetString(1), reader.GetString(2))
            {
                Status = (DeviceStatus)reader.GetInt32(3),
                RegisteredAt = reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
                DeletedAt = reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
            };
            devices[(state.TenantId, state.DeviceId)] = state;
        }

        return devices;
    }

    private static Dictionary<int, (string Password, string Hash)> NewCredentials(List<int> registrations, int iterations)
    {
        var credentials = new (string, string)[registrations.Count];
        if (registrations.Count < 8)
        {
            for (var k = 0; k < registrations.Count; k++)
            {
                credentials[k] = NewCredential(iterations);
            }
        }
        else
        {
            Parallel.For(0, registrations.Count, k => credentials[k] = NewCredential(iterations));
        }

        var byRequest = new Dictionary<int, (string, string)>(registrations.Count);
        for (var k = 0; k < registrations.Count; k++)
        {
            byRequest[registrations[k]] = credentials[k];
        }

        return byRequest;
    }

    private static (string, string) NewCredential(int iterations)
    {
        var password = CredentialGenerator.NewPassword();
        return (password, MosquittoPasswordHash.Create(password, iterations));
    }

    private static bool IsValid(DeviceEvent e) => Problem(e) is null;

    private static (string Code, string Reason)? Problem(DeviceEvent e) =>
        DeviceIdentity.Problem("tenantId", e.TenantId) is { } tenantProblem
            ? (RejectionCodes.InvalidTenantId, tenantProblem)
            : DeviceIdentity.Problem("deviceId", e.DeviceId) is { } deviceProblem
                ? (RejectionCodes.InvalidDeviceId, deviceProblem)
                : null;

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static OutboxMessage Rejected(DeviceEvent e, string code, string reason, DateTimeOffset now) =>
        OutboxWriter.Create(
            new ProvisioningRejected { TenantId = e.TenantId, DeviceId = e.DeviceId, Code = code, Reason = reason },
            e,
            OutboxKey(e.TenantId),
            OutboxKey(e.DeviceId),
            awaitsBroker: false,
            now);

    /// <summary>
    /// The outbox row's device key for a rejection. A valid id is kept as is (replies to one device stay in order); an
    /// invalid one is stored escaped and cut short: PostgreSQL refuses NUL in text, and an index entry cannot hold a
    /// 10 MB id (both sent such a rejection to _error; found by the bad-input fault scenario). The reply keeps the id as received.
    /// </summary>
    private static string OutboxKey(string? id) => id is null ? string.Empty : DeviceIdentity.Printable(id);

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter Array<T>(T[] values, NpgsqlDbType elementType) =>
        new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | elementType };

    /// <summary>A locked device row as the batch changes it.</summary>
    private sealed class DeviceState(string tenantId, string deviceId, string username)
    {
        public string TenantId { get; } = tenantId;

        public string DeviceId { get; } = deviceId;

        public string Username { get; } = username;

        public DeviceStatus Status { get; set; }

        public string? PasswordHash { get; set; }

        public DateTimeOffset? RegisteredAt { get; set; }

        public DateTimeOffset? DeletedAt { get; set; }

        public bool Changed { get; set; }
    }
}
