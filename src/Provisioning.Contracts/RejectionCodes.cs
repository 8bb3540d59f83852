namespace Provisioning.Contracts;

/// <summary>The stable values of <see cref="ProvisioningRejected.Code"/>.</summary>
public static class RejectionCodes
{
    /// <summary>tenantId is missing, empty, too long or has characters outside [A-Za-z0-9_-].</summary>
    public const string InvalidTenantId = "invalid-tenant-id";

    /// <summary>deviceId is missing, empty, too long or has characters outside [A-Za-z0-9_-].</summary>
    public const string InvalidDeviceId = "invalid-device-id";

    /// <summary>A registration not later than the device's last deletion, or a deletion older than its current registration.</summary>
    public const string Stale = "stale";
}
