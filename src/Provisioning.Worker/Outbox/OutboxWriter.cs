using System.Text.Json;
using MassTransit;
using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Outbox;

/// <summary>Builds the outbox row of a reply; the lifecycle batch writes it in the event's transaction, the dispatcher sends it later.</summary>
public static class OutboxWriter
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static OutboxMessage Create<T>(T message, DeviceEvent cause, string tenantId, string deviceId, bool awaitsBroker, DateTimeOffset now)
        where T : class =>
        new()
        {
            MessageId = NewId.NextGuid(),
            MessageType = typeof(T).Name,
            Body = JsonSerializer.Serialize(message, Json),
            TenantId = tenantId,
            DeviceId = deviceId,
            DestinationAddress = cause.Reply.ResponseAddress?.ToString(),
            RequestId = cause.Reply.RequestId,
            ConversationId = cause.Reply.ConversationId,
            CorrelationId = cause.Reply.CorrelationId,
            InitiatorId = cause.MessageId,
            AwaitsBroker = awaitsBroker,
            CreatedAt = now,
            NextAttemptAt = now,
        };
}
