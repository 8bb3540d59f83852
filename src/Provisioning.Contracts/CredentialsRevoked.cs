namespace Provisioning.Contracts;

/// <summary>
/// The answer to <see cref="DeviceDeleted"/>: the device's credential no longer works. Sent only after the broker refuses
/// the user, so its sessions are closed by then. Message type <c>urn:message:Provisioning.Contracts:CredentialsRevoked</c>.
/// </summary>
public sealed record CredentialsRevoked
{
    /// <summary>The tenant, as deleted.</summary>
    public required string TenantId { get; init; }

    /// <summary>The device, as deleted.</summary>
    public required string DeviceId { get; init; }

    /// <summary>The MQTT username the broker now refuses: the one the device held, <c>{tenantId}/{deviceId}</c> or the earlier <c>{tenantId}.{deviceId}</c>.</summary>
    public required string Username { get; init; }

    /// <summary>When the worker revoked the credential.</summary>
    public required DateTimeOffset RevokedAt { get; init; }
}
