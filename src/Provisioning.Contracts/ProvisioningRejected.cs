namespace Provisioning.Contracts;

/// <summary>A parseable message that could not be acted on. Ids are echoed as received and may be null.</summary>
public sealed record ProvisioningRejected
{
    public string? TenantId { get; init; }

    public string? DeviceId { get; init; }

    /// <summary>Human-readable explanation naming the offending field.</summary>
    public required string Reason { get; init; }

    /// <summary>Stable, machine-readable code; see <see cref="RejectionCodes"/>.</summary>
    public required string Code { get; init; }
}
