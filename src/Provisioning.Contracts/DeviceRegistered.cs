namespace Provisioning.Contracts;

/// <summary>
/// Upstream registered a device (or registers it again): the worker issues it a new MQTT credential.
/// Published to the exchange <c>Provisioning.Contracts:DeviceRegistered</c> (message type
/// <c>urn:message:Provisioning.Contracts:DeviceRegistered</c>), consumed from the queue <c>device-registered</c>.
/// </summary>
/// <remarks>
/// The worker answers with <see cref="CredentialsIssued"/> once the broker accepts the new credential, or with
/// <see cref="ProvisioningRejected"/>. Sent as a request (a response address and request id, as MassTransit's request
/// client sets them), the answer goes to the requester; otherwise it is published. Registering an active device again
/// rotates its credential: the previous password stops working. The same message delivered twice (same message id) has
/// one effect and one answer.
/// </remarks>
public sealed record DeviceRegistered
{
    /// <summary>The tenant the device belongs to: 1–64 characters of <c>[A-Za-z0-9_-]</c>, else the registration is
    /// rejected with <see cref="RejectionCodes.InvalidTenantId"/>.</summary>
    public string? TenantId { get; init; }

    /// <summary>The device, unique within its tenant: 1–64 characters of <c>[A-Za-z0-9_-]</c>, else the registration is
    /// rejected with <see cref="RejectionCodes.InvalidDeviceId"/>.</summary>
    public string? DeviceId { get; init; }

    /// <summary>
    /// When upstream registered the device. Optional: the envelope's <c>sentTime</c>, else the time of receipt, stands
    /// in. A registration not later than the device's last deletion is rejected with <see cref="RejectionCodes.Stale"/>.
    /// </summary>
    public DateTimeOffset? OccurredAt { get; init; }

    /// <summary>
    /// The device's X25519 public key (libsodium <c>crypto_box_keypair</c>), 32 bytes in base64 (standard alphabet,
    /// padded: 44 characters). Optional. When given, the reply carries the password only sealed to this key
    /// (<see cref="CredentialsIssued.SealedPassword"/>), so nobody who reads the queues can read it. Present but not 32
    /// bytes of base64 (empty included), the registration is rejected with <see cref="RejectionCodes.InvalidCredentialKey"/>
    /// and nothing is written. Added in 1.2.0.
    /// </summary>
    public string? CredentialKey { get; init; }
}
