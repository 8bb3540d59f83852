namespace Provisioning.Worker.Devices;

/// <summary>A lifecycle event as the domain sees it: what was said, when, and where the answer goes.</summary>
public sealed record DeviceEvent(Guid MessageId, string? TenantId, string? DeviceId, DateTimeOffset OccurredAt, ReplyRoute Reply);

/// <summary>Where a reply goes: the request's response address (with its request id), or published when absent.</summary>
public sealed record ReplyRoute(Uri? ResponseAddress, Guid? RequestId, Guid? ConversationId, Guid? CorrelationId);

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
