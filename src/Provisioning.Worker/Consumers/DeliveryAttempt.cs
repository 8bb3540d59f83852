namespace Provisioning.Worker.Consumers;

/// <summary>
/// How many times a redelivered message was started without finishing (see <see cref="RedeliveryGuard"/>). The row
/// lives only while the message is in doubt: it is removed once the message completed or was dead-lettered.
/// </summary>
public sealed class DeliveryAttempt
{
    public required Guid MessageId { get; init; }

    public required string Consumer { get; init; }

    public int Attempts { get; set; }

    public DateTimeOffset LastAttemptAt { get; set; }
}
