namespace Provisioning.Contracts;

/// <summary>
/// The answer to a <see cref="DeviceRegistered"/> or <see cref="DeviceDeleted"/> that could be read but not acted on:
/// nothing was written and the broker is unchanged. Message type <c>urn:message:Provisioning.Contracts:ProvisioningRejected</c>.
/// </summary>
/// <remarks>
/// Sent again unchanged, the message is rejected again: fix the input first. A message that cannot be read at all (not
/// JSON, an unknown message type) gets no <see cref="ProvisioningRejected"/>; it goes to the queue's <c>_error</c> or
/// <c>_skipped</c> queue.
/// </remarks>
public sealed record ProvisioningRejected
{
    /// <summary>The tenant id exactly as received; null when it was missing.</summary>
    public string? TenantId { get; init; }

    /// <summary>The device id exactly as received; null when it was missing.</summary>
    public string? DeviceId { get; init; }

    /// <summary>A human-readable explanation naming the offending field, for logs and people; its wording may change.</summary>
    public required string Reason { get; init; }

    /// <summary>A stable, machine-readable code, one of <see cref="RejectionCodes"/>: branch on this, not on
    /// <see cref="Reason"/>. Treat a code you do not know as a permanent rejection.</summary>
    public required string Code { get; init; }
}
