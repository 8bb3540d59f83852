namespace Provisioning.Worker.Outbox;

/// <summary>Where a reply goes: the request's response address (with its request id), or published when absent.</summary>
public sealed record ReplyRoute(Uri? ResponseAddress, Guid? RequestId, Guid? ConversationId, Guid? CorrelationId);
