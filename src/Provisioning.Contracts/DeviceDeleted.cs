namespace Provisioning.Contracts;

/// <summary>Upstream deleted a device; the worker answers with <see cref="CredentialsRevoked"/> or <see cref="ProvisioningRejected"/>.</summary>
public sealed record DeviceDeleted
{
    public string? TenantId { get; init; }

    public string? DeviceId { get; init; }

    /// <summary>When upstream deleted the device. Optional: the envelope's sentTime, else the time of receipt, stands in.</summary>
    public DateTimeOffset? OccurredAt { get; init; }
}
