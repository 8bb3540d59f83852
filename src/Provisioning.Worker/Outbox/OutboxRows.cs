using System.Text.Json;
using MassTransit;

namespace Provisioning.Worker.Outbox;

/// <summary>Builds the outbox row of a reply; the lifecycle transaction saves it with the event's effect, the dispatcher sends it later.</summary>
public static class OutboxRows
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <param name="message">The contract message; its type's name is the row's message type.</param>
    /// <param name="inReplyTo">The id of the message this answers.</param>
    /// <param name="tenantId">With <paramref name="deviceId"/>, the key that keeps the replies to one device in order.</param>
    /// <param name="awaitsBroker">True when the reply announces a change the broker must apply first.</param>
    /// <param name="secret">The reply's password, encrypted (<see cref="Secrets.ReplySecrets"/>); never in <paramref name="message"/>.</param>
    /// <param name="group">The broker group of the device's tenant; null (a rejection of ill-formed ids): the default group, no broker waited for.</param>
    public static OutboxMessage Create(object message, Guid inReplyTo, ReplyRoute route, string tenantId, string deviceId, bool awaitsBroker, DateTimeOffset now, byte[]? secret = null, string? group = null) =>
        new()
        {
            MessageId = NewId.NextGuid(),
            MessageType = message.GetType().Name,
            Body = JsonSerializer.Serialize(message, message.GetType(), Json),
            Secret = secret,
            TenantId = tenantId,
            DeviceId = deviceId,
            DestinationAddress = route.ResponseAddress?.ToString(),
            RequestId = route.RequestId,
            ConversationId = route.ConversationId,
            CorrelationId = route.CorrelationId,
            InitiatorId = inReplyTo,
            AwaitsBroker = awaitsBroker,
            BrokerGroup = group ?? Brokers.BrokerGroups.Default,
            CreatedAt = now,
        };
}
