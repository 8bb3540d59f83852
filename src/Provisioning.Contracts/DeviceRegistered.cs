namespace Provisioning.Contracts;

/// <summary>Upstream registered a device; the worker answers with <see cref="CredentialsIssued"/> or <see cref="ProvisioningRejected"/>.</summary>
public sealed record DeviceRegistered
{
    public string? TenantId { get; init; }

    public string? DeviceId { get; init; }

    /// <summary>When upstream registered the device. Optional: the envelope's sentTime, else the time of receipt, stands in.</summary>
    public DateTimeOffset? OccurredAt { get; init; }
}
