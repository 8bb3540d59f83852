namespace Provisioning.Contracts;

/// <summary>The stable values of <see cref="ProvisioningRejected.Code"/>. A value is never renamed nor given another meaning.</summary>
public static class RejectionCodes
{
    /// <summary><c>invalid-tenant-id</c>: tenantId is missing, empty, longer than 64 characters or has characters outside
    /// <c>[A-Za-z0-9_-]</c>. Checked before deviceId.</summary>
    public const string InvalidTenantId = "invalid-tenant-id";

    /// <summary><c>invalid-device-id</c>: deviceId is missing, empty, longer than 64 characters or has characters outside
    /// <c>[A-Za-z0-9_-]</c>.</summary>
    public const string InvalidDeviceId = "invalid-device-id";

    /// <summary><c>stale</c>: out of order. A registration that occurred not later than the device's last deletion, or a
    /// deletion that occurred earlier than the device's current registration. Nothing changed; the newer event stands.</summary>
    public const string Stale = "stale";

    /// <summary><c>invalid-credential-key</c>: credentialKey is present but is not a usable X25519 public key: empty, not
    /// base64, not 32 bytes once decoded, or a low-order point no box can be sealed to. Checked after the ids. Added in
    /// 1.2.0.</summary>
    public const string InvalidCredentialKey = "invalid-credential-key";
}
