namespace Provisioning.Worker.Inbox;

/// <summary>Proof that a consumer has committed the effect of a message; keyed by (MessageId, Consumer).</summary>
public sealed class InboxMessage
{
    public required Guid MessageId { get; init; }

    public required string Consumer { get; init; }

    public required DateTimeOffset ReceivedAt { get; init; }
}
