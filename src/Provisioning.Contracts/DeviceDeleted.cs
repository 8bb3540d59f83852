namespace Provisioning.Contracts;

/// <summary>
/// Upstream deleted a device: the worker removes its credential from the broker.
/// Published to the exchange <c>Provisioning.Contracts:DeviceDeleted</c> (message type
/// <c>urn:message:Provisioning.Contracts:DeviceDeleted</c>), consumed from the queue <c>device-deleted</c>.
/// </summary>
/// <remarks>
/// The worker answers with <see cref="CredentialsRevoked"/> once the broker refuses the user (connected sessions of the
/// device are closed), or with <see cref="ProvisioningRejected"/>. Deleting a device the worker does not know is a
/// success, and is remembered: a registration that occurred earlier and arrives later does not bring the device back.
/// </remarks>
public sealed record DeviceDeleted
{
    /// <summary>The tenant the device belongs to: 1–64 characters of <c>[A-Za-z0-9_-]</c>, else the deletion is
    /// rejected with <see cref="RejectionCodes.InvalidTenantId"/>.</summary>
    public string? TenantId { get; init; }

    /// <summary>The device: 1–64 characters of <c>[A-Za-z0-9_-]</c>, else the deletion is rejected with
    /// <see cref="RejectionCodes.InvalidDeviceId"/>.</summary>
    public string? DeviceId { get; init; }

    /// <summary>
    /// When upstream deleted the device. Optional: the envelope's <c>sentTime</c>, else the time of receipt, stands in.
    /// A deletion earlier than the device's current registration is rejected with <see cref="RejectionCodes.Stale"/>.
    /// </summary>
    public DateTimeOffset? OccurredAt { get; init; }
}
