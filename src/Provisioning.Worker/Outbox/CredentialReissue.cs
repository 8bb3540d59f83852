using System.Data;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Provisioning.Contracts;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Metrics;
using Provisioning.Worker.Secrets;

namespace Provisioning.Worker.Outbox;

/// <summary>
/// A <c>CredentialsIssued</c> whose stored password cannot be decrypted (its key left the key ring) is not dropped: the
/// device is issued a new credential in its place, through the path a registration takes — new password, new hash on
/// the device row, the same outbox row (same message id, request id, place in the device's order) rewritten with the
/// new password encrypted under the current key and held until the broker has applied the new hash. If a later reply to
/// the device is already waiting (a rotation or a deletion after it), that later change is the device's current state
/// and must stay so: the unreadable reply is answered with a fresh password that the broker never gets, exactly what
/// a reply superseded before its delivery carries anyway ("only the latest works"), so its requester still has an
/// answer and the device ends with the later credential. Either way logged and counted.
/// </summary>
public sealed partial class CredentialReissue(
    IOptions<MosquittoOptions> mosquitto,
    ReplySecrets secrets,
    DeviceChangeSignal deviceChanges,
    ProvisioningMetrics metrics,
    TimeProvider clock,
    ILogger<CredentialReissue> logger)
{
    public const string Reissued = "reissued";
    public const string Superseded = "superseded";

    /// <summary>Replaces <paramref name="row"/>, still leased by this instance; does nothing if the lease was lost meanwhile.</summary>
    public async Task ReissueAsync(NpgsqlConnection connection, OutboxMessage row, string reason, CancellationToken cancellationToken)
    {
        var stored = JsonSerializer.Deserialize<CredentialsIssued>(row.Body, OutboxRows.Json)
            ?? throw new InvalidOperationException($"Outbox row {row.Id} has an empty {nameof(CredentialsIssued)} body.");
        var credential = NewCredential.Create(mosquitto.Value.HashIterations);
        var now = clock.GetUtcNow();

        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        var active = await LockDeviceAsync(connection, transaction, row, cancellationToken);
        var superseded = !active || await HasLaterReplyAsync(connection, transaction, row, cancellationToken);
        var (reply, secret) = secrets.Conceal(stored with { Password = credential.Password, SealedPassword = null, IssuedAt = now }, null);
        if (!superseded)
        {
            await using var device = new NpgsqlCommand("UPDATE devices SET password_hash = @hash, updated_at = @now WHERE tenant_id = @tenant AND device_id = @device", connection, transaction);
            device.Parameters.AddWithValue("hash", credential.PasswordHash);
            device.Parameters.AddWithValue("now", now);
            device.Parameters.AddWithValue("tenant", row.TenantId);
            device.Parameters.AddWithValue("device", row.DeviceId);
            await device.ExecuteNonQueryAsync(cancellationToken);
        }

        // Held for the broker again when the hash changed; a superseded reply has nothing for the broker to apply.
        var changed = await ExecuteAsync(
            connection,
            transaction,
            """
            UPDATE outbox SET body = @body, secret = @secret, awaits_broker = @awaits, change_xid = pg_current_xact_id()::text::bigint, lease_expires_at = NULL,
                next_attempt_at = statement_timestamp(), last_error = @error
            WHERE id = @id AND lease_expires_at = @lease
            """,
            row,
            cancellationToken,
            new NpgsqlParameter("body", JsonSerializer.Serialize(reply, OutboxRows.Json)),
            new NpgsqlParameter("secret", NpgsqlDbType.Bytea) { Value = secret },
            new NpgsqlParameter("awaits", !superseded),
            new NpgsqlParameter("error", $"password unreadable ({reason}); a new credential was issued"));

        if (changed == 0)
        {
            // Another instance took the row after our lease ran out: it decides.
            await transaction.RollbackAsync(cancellationToken);
            return;
        }

        await transaction.CommitAsync(cancellationToken);
        var outcome = superseded ? Superseded : Reissued;
        Log.Unreadable(logger, row.Id, stored.Username, reason, outcome);
        metrics.UnreadablePassword(outcome);
        if (!superseded)
        {
            deviceChanges.Notify();
        }
    }

    /// <summary>Locks the device as a registration does, so the re-issue and a concurrent event queue; true if it is active.</summary>
    private static async Task<bool> LockDeviceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, OutboxMessage row, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT status FROM devices WHERE tenant_id = @tenant AND device_id = @device FOR UPDATE", connection, transaction);
        command.Parameters.AddWithValue("tenant", row.TenantId);
        command.Parameters.AddWithValue("device", row.DeviceId);
        return await command.ExecuteScalarAsync(cancellationToken) is int status && (DeviceStatus)status == DeviceStatus.Active;
    }

    private static async Task<bool> HasLaterReplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, OutboxMessage row, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE tenant_id = @tenant AND device_id = @device AND id > @id AND message_type <> @rejected)", connection, transaction);
        command.Parameters.AddWithValue("tenant", row.TenantId);
        command.Parameters.AddWithValue("device", row.DeviceId);
        command.Parameters.AddWithValue("id", row.Id);
        command.Parameters.AddWithValue("rejected", nameof(ProvisioningRejected));
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    private static async Task<int> ExecuteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, OutboxMessage row, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddWithValue("id", row.Id);
        command.Parameters.Add(new NpgsqlParameter("lease", NpgsqlDbType.TimestampTz) { Value = (object?)row.LeaseExpiresAt ?? DBNull.Value });
        command.Parameters.AddRange(parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 404, Level = LogLevel.Warning, Message = "Outbox reply {OutboxId} to {Username}: its password cannot be decrypted ({Reason}); {Outcome}")]
        public static partial void Unreadable(ILogger logger, long outboxId, string username, string reason, string outcome);
    }
}
