using System.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Provisioning.Contracts;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Passwd;
using Provisioning.Worker.Persistence;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Devices;

/// <summary>
/// The rules of DESIGN.md §2. Each event is one transaction: inbox row (dedupe), device change under a row lock
/// (so two events for one device never race), and the reply in the outbox.
/// </summary>
public sealed class DeviceLifecycleService(
    ProvisioningDbContext db,
    IOptions<MosquittoOptions> mosquitto,
    ProjectionWakeUp projectionWakeUp,
    DispatchWakeUp dispatchWakeUp,
    TimeProvider clock)
{
    public const string RegisteredConsumer = "device-registered";
    public const string DeletedConsumer = "device-deleted";

    public Task<LifecycleOutcome> RegisterAsync(DeviceEvent e, CancellationToken cancellationToken) =>
        InTransactionAsync(RegisteredConsumer, e, RegisterLockedAsync, cancellationToken);

    public Task<LifecycleOutcome> DeleteAsync(DeviceEvent e, CancellationToken cancellationToken) =>
        InTransactionAsync(DeletedConsumer, e, DeleteLockedAsync, cancellationToken);

    private async Task<LifecycleOutcome> InTransactionAsync(
        string consumer,
        DeviceEvent e,
        Func<DeviceEvent, string, string, DateTimeOffset, CancellationToken, Task<LifecycleOutcome>> change,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

        // A concurrent delivery of the same message waits here on the key until the first one commits or rolls back.
        var firstDelivery = await db.Database.ExecuteSqlAsync(
            $"INSERT INTO inbox (message_id, consumer, received_at) VALUES ({e.MessageId}, {consumer}, {now}) ON CONFLICT DO NOTHING",
            cancellationToken);
        if (firstDelivery == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return LifecycleOutcome.Duplicate;
        }

        LifecycleOutcome outcome;
        var problem = DeviceIdentity.Problem("tenantId", e.TenantId) is { } tenantProblem
            ? (RejectionCodes.InvalidTenantId, tenantProblem)
            : DeviceIdentity.Problem("deviceId", e.DeviceId) is { } deviceProblem
                ? (RejectionCodes.InvalidDeviceId, deviceProblem)
                : default((string Code, string Reason)?);
        if (problem is { } rejection)
        {
            Reject(e, rejection.Code, rejection.Reason, now);
            outcome = LifecycleOutcome.Rejected;
        }
        else
        {
            outcome = await change(e, e.TenantId!, e.DeviceId!, now, cancellationToken);
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (outcome is LifecycleOutcome.Issued or LifecycleOutcome.Revoked)
        {
            projectionWakeUp.Notify();
        }
        else if (outcome is LifecycleOutcome.Rejected)
        {
            dispatchWakeUp.Notify();
        }

        return outcome;
    }

    private async Task<LifecycleOutcome> RegisterLockedAsync(DeviceEvent e, string tenantId, string deviceId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var device = await LockDeviceAsync(tenantId, deviceId, now, cancellationToken);
        now = LockedNow(now);
        if (device.DeletedAt is { } deletedAt && e.OccurredAt <= deletedAt)
        {
            Reject(e, RejectionCodes.Stale, $"registration occurred at {e.OccurredAt:O}, not later than the device's deletion at {deletedAt:O}", now);
            return LifecycleOutcome.Rejected;
        }

        var options = mosquitto.Value;
        var password = CredentialGenerator.NewPassword();
        device.Status = DeviceStatus.Active;
        device.PasswordHash = MosquittoPasswordHash.Create(password, options.HashIterations);
        device.RegisteredAt = device.RegisteredAt is { } registeredAt && registeredAt > e.OccurredAt ? registeredAt : e.OccurredAt;
        device.UpdatedAt = now;

        OutboxWriter.Add(
            db,
            new CredentialsIssued
            {
                TenantId = tenantId,
                DeviceId = deviceId,
                Username = device.Username,
                Password = password,
                BrokerHost = options.BrokerHost,
                BrokerPort = options.BrokerPort,
                IssuedAt = now,
            },
            e,
            tenantId,
            deviceId,
            awaitsBroker: true,
            now);
        return LifecycleOutcome.Issued;
    }

    private async Task<LifecycleOutcome> DeleteLockedAsync(DeviceEvent e, string tenantId, string deviceId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var device = await LockDeviceAsync(tenantId, deviceId, now, cancellationToken);
        now = LockedNow(now);
        if (device.Status == DeviceStatus.Active && device.RegisteredAt is { } registeredAt && e.OccurredAt < registeredAt)
        {
            Reject(e, RejectionCodes.Stale, $"deletion occurred at {e.OccurredAt:O}, earlier than the device's registration at {registeredAt:O}", now);
            return LifecycleOutcome.Rejected;
        }

        device.Status = DeviceStatus.Deleted;
        device.PasswordHash = null;
        device.DeletedAt = device.DeletedAt is { } deletedAt && deletedAt > e.OccurredAt ? deletedAt : e.OccurredAt;
        device.UpdatedAt = now;

        // Announced only once the projection has run, even for an unknown device: an older reply may still be waiting on it.
        OutboxWriter.Add(
            db,
            new CredentialsRevoked { TenantId = tenantId, DeviceId = deviceId, Username = device.Username, RevokedAt = now },
            e,
            tenantId,
            deviceId,
            awaitsBroker: true,
            now);
        return LifecycleOutcome.Revoked;
    }

    /// <summary>Creates the row if needed (so a deletion of an unknown device is remembered), then locks it for this transaction.</summary>
    private async Task<Device> LockDeviceAsync(string tenantId, string deviceId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var username = DeviceIdentity.Username(tenantId, deviceId);
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO devices (tenant_id, device_id, username, status, updated_at)
            VALUES ({tenantId}, {deviceId}, {username}, {(int)DeviceStatus.Deleted}, {now})
            ON CONFLICT (tenant_id, device_id) DO NOTHING
            """,
            cancellationToken);
        return await db.Devices
            .FromSql($"SELECT * FROM devices WHERE tenant_id = {tenantId} AND device_id = {deviceId} FOR UPDATE")
            .AsTracking()
            .SingleAsync(cancellationToken);
    }

    /// <summary>
    /// The time read again once the row lock is held: two events for one device may start in one order and take the
    /// lock in the other, and issuedAt/revokedAt must follow the order in which the credentials really changed.
    /// </summary>
    private DateTimeOffset LockedNow(DateTimeOffset startedAt) => clock.GetUtcNow() is var now && now > startedAt ? now : startedAt;

    private void Reject(DeviceEvent e, string code, string reason, DateTimeOffset now) =>
        OutboxWriter.Add(
            db,
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
}
