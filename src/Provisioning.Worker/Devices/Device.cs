namespace Provisioning.Worker.Devices;

/// <summary>A device row: the source of truth the passwd projection renders from.</summary>
public sealed class Device
{
    public required string TenantId { get; init; }

    public required string DeviceId { get; init; }

    public required string Username { get; init; }

    public DeviceStatus Status { get; set; }

    /// <summary>The <c>$7$</c> hash of the current credential; null unless <see cref="DeviceStatus.Active"/>.</summary>
    public string? PasswordHash { get; set; }

    /// <summary>occurredAt of the latest accepted registration.</summary>
    public DateTimeOffset? RegisteredAt { get; set; }

    /// <summary>occurredAt of the latest deletion; a registration not later than this is stale.</summary>
    public DateTimeOffset? DeletedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Transaction id (xid8) of the last change, set by a trigger; the projection reads changes by it.</summary>
    public long ChangedXid { get; set; }
}

public enum DeviceStatus
{
    /// <summary>Not in the passwd file: deleted, or only ever seen in a deletion.</summary>
    Deleted = 0,

    /// <summary>In the passwd file with <see cref="Device.PasswordHash"/>.</summary>
    Active = 1,
}
