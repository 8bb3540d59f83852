namespace Provisioning.Worker.Outbox;

/// <summary>Delivers one outbox row to RabbitMQ; completes once the broker has confirmed it.</summary>
public interface IReplySender
{
    Task SendAsync(OutboxMessage row, CancellationToken cancellationToken);
}
