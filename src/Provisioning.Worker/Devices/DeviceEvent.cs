using Provisioning.Worker.Outbox;
using Provisioning.Worker.Secrets;

namespace Provisioning.Worker.Devices;

/// <summary>A lifecycle event as the domain sees it: what happened, to which device, when, and where the answer goes.</summary>
/// <param name="CredentialKey">A registration's <c>credentialKey</c>, checked: the password is sealed to it; null when absent.</param>
public sealed record DeviceEvent(DeviceEventKind Kind, Guid MessageId, string? TenantId, string? DeviceId, DateTimeOffset OccurredAt, ReplyRoute Reply, CredentialKey? CredentialKey = null)
{
    /// <summary>What makes a delivery the same message again: its id, per kind (each kind has its own queue).</summary>
    public InboxKey InboxKey => new(MessageId, Kind);
}

public enum DeviceEventKind
{
    /// <summary>DeviceRegistered: issue a credential (or rotate it).</summary>
    Registered,

    /// <summary>DeviceDeleted: revoke the credential.</summary>
    Deleted,
}

/// <summary>The inbox's key: a message already seen under it has no further effect.</summary>
public readonly record struct InboxKey(Guid MessageId, DeviceEventKind Kind);

public enum LifecycleOutcome
{
    /// <summary>The message was seen before: no effect, no reply.</summary>
    Duplicate,

    /// <summary>A credential was issued (new device, or rotation of an active one).</summary>
    Issued,

    /// <summary>The device is, or will be once the projection runs, refused by the broker.</summary>
    Revoked,

    /// <summary>ProvisioningRejected: invalid ids or a stale event.</summary>
    Rejected,
}
