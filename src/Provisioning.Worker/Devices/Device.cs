using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Devices;

/// <summary>
/// A device's state: the row the passwd projection renders from, and what <see cref="LifecycleRules"/> change. Immutable:
/// the rules return a changed copy (<c>with</c>), the store writes it.
/// </summary>
public sealed record Device
{
    public required string TenantId { get; init; }

    public required string DeviceId { get; init; }

    /// <summary>The username its current credential was issued under: <c>{tenantId}/{deviceId}</c>, or the earlier <c>{tenantId}.{deviceId}</c>.</summary>
    public required string Username { get; init; }

    public DeviceStatus Status { get; init; }

    /// <summary>The <c>$7$</c> hash of the current credential; null unless <see cref="DeviceStatus.Active"/>.</summary>
    public string? PasswordHash { get; init; }

    /// <summary>occurredAt of the latest accepted registration.</summary>
    public DateTimeOffset? RegisteredAt { get; init; }

    /// <summary>occurredAt of the latest deletion; a registration not later than this is stale.</summary>
    public DateTimeOffset? DeletedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Transaction id (xid8) of the last change, set by a trigger; the projection reads changes by it.</summary>
    public long ChangedXid { get; init; }

    /// <summary>
    /// A device never seen before: not in the passwd file, no event yet. Its row is created as such on first sight, so
    /// that a deletion of an unknown device is remembered.
    /// </summary>
    public static Device Unknown(string tenantId, string deviceId) => new()
    {
        TenantId = tenantId,
        DeviceId = deviceId,
        Username = DeviceIdentity.Username(tenantId, deviceId),
        Status = DeviceStatus.Deleted,
    };

    /// <summary>Without the hash: a record would print every property, and a hash must never reach a log line.</summary>
    public override string ToString() => $"Device {SafeText.Ascii(Username)} ({Status}, registered {RegisteredAt:O}, deleted {DeletedAt:O})";
}

public enum DeviceStatus
{
    /// <summary>Not in the passwd file: deleted, or only ever seen in a deletion.</summary>
    Deleted = 0,

    /// <summary>In the passwd file with <see cref="Device.PasswordHash"/>.</summary>
    Active = 1,
}
