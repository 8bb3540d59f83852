using System.Text.Json;
using MassTransit;
using Provisioning.Contracts;
using Provisioning.Worker.Secrets;

namespace Provisioning.Worker.Outbox;

/// <summary>
/// Sends one outbox row through MassTransit: to the request's response address with its requestId, else published. A
/// password stored encrypted is decrypted here, in memory, just before the send (<see cref="ReplySecrets.Reveal"/>);
/// one that cannot be is an <see cref="UnreadableSecretException"/>, which the dispatcher answers with a new credential.
/// </summary>
public sealed class ReplySender(IBus bus, ReplySecrets secrets) : IReplySender
{
    public Task SendAsync(OutboxMessage row, CancellationToken cancellationToken) => row.MessageType switch
    {
        nameof(CredentialsIssued) => SendAsync(row, secrets.Reveal(Read<CredentialsIssued>(row), row.Secret), cancellationToken),
        nameof(CredentialsRevoked) => SendAsync(row, Read<CredentialsRevoked>(row), cancellationToken),
        nameof(ProvisioningRejected) => SendAsync(row, Read<ProvisioningRejected>(row), cancellationToken),
        _ => throw new InvalidOperationException($"Outbox row {row.Id} has the unknown message type '{row.MessageType}'."),
    };

    private static T Read<T>(OutboxMessage row)
        where T : class =>
        JsonSerializer.Deserialize<T>(row.Body, OutboxRows.Json)
            ?? throw new InvalidOperationException($"Outbox row {row.Id} has an empty {typeof(T).Name} body.");

    private async Task SendAsync<T>(OutboxMessage row, T message, CancellationToken cancellationToken)
        where T : class
    {
        void Stamp(SendContext<T> context)
        {
            context.MessageId = row.MessageId;
            context.RequestId = row.RequestId;
            context.ConversationId = row.ConversationId;
            context.CorrelationId = row.CorrelationId;
            context.InitiatorId = row.InitiatorId;
        }

        if (row.DestinationAddress is { } destination)
        {
            var endpoint = await bus.GetSendEndpoint(new Uri(destination));
            await endpoint.Send(message, Stamp, cancellationToken);
        }
        else
        {
            await bus.Publish(message, (PublishContext<T> context) => Stamp(context), cancellationToken);
        }
    }
}
