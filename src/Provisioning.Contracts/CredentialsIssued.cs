namespace Provisioning.Contracts;

/// <summary>
/// The answer to <see cref="DeviceRegistered"/>: the device's MQTT credential. Sent only after the broker accepts it,
/// so the device can connect as soon as it has it. Message type <c>urn:message:Provisioning.Contracts:CredentialsIssued</c>.
/// </summary>
/// <remarks>
/// This message is the only place the password exists outside the worker's memory (in clear in <see cref="Password"/>,
/// or sealed to the device's key in <see cref="SealedPassword"/>): hand it to the device, and neither log nor store it.
/// Each registration issues a new password; only the latest one works.
/// </remarks>
public sealed record CredentialsIssued
{
    /// <summary>The tenant, as registered.</summary>
    public required string TenantId { get; init; }

    /// <summary>The device, as registered.</summary>
    public required string DeviceId { get; init; }

    /// <summary>The MQTT username: <c>{tenantId}/{deviceId}</c> (a device issued its credential under the earlier <c>{tenantId}.{deviceId}</c> keeps it until it registers again).</summary>
    public required string Username { get; init; }

    /// <summary>
    /// The MQTT password: 32 random bytes, base64url without padding (43 characters). Secret. Null when the registration
    /// carried a <see cref="DeviceRegistered.CredentialKey"/>: the password is then in <see cref="SealedPassword"/> only.
    /// Exactly one of the two is set. Nullable since 1.2.0 (always set before).
    /// </summary>
    public string? Password { get; init; }

    /// <summary>
    /// The MQTT password sealed to the device's key: libsodium's <c>crypto_box_seal</c> of the password's UTF-8 bytes
    /// (its 43 characters) to <see cref="DeviceRegistered.CredentialKey"/>, base64 (standard alphabet, padded; 91
    /// bytes, 124 characters). Only the holder of the matching X25519 private key opens it (<c>crypto_box_seal_open</c>).
    /// Null when the registration carried no key. Added in 1.2.0.
    /// </summary>
    public string? SealedPassword { get; init; }

    /// <summary>The host name devices connect to, as the worker is configured (<c>Mosquitto:BrokerHost</c>).</summary>
    public required string BrokerHost { get; init; }

    /// <summary>The MQTT port devices connect to (<c>Mosquitto:BrokerPort</c>).</summary>
    public required int BrokerPort { get; init; }

    /// <summary>When the worker issued this credential; a later <see cref="IssuedAt"/> for the same device replaces it.</summary>
    public required DateTimeOffset IssuedAt { get; init; }

    /// <summary>
    /// What the device may do on the broker, in the worker's configuration order; empty when the worker does not manage
    /// topic access. Added in 1.1.0: replies from older workers have none, and deserialize to an empty list.
    /// </summary>
    public IReadOnlyList<TopicPermission> Topics { get; init; } = [];
}
