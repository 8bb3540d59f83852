using MassTransit;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Outbox;

namespace Provisioning.Worker.Consumers;

internal static class DeviceEventFactory
{
    /// <summary>occurredAt when given; else the envelope's sentTime; else the time of receipt.</summary>
    public static DeviceEvent From(DeviceEventKind kind, ConsumeContext context, string? tenantId, string? deviceId, DateTimeOffset? occurredAt, TimeProvider clock)
    {
        var messageId = context.MessageId
            ?? throw new InvalidOperationException("The message has no messageId; without it the inbox cannot guarantee exactly-once effect.");
        var when = occurredAt
            ?? (context.SentTime is { } sent ? new DateTimeOffset(DateTime.SpecifyKind(sent, DateTimeKind.Utc)) : clock.GetUtcNow());
        var reply = new ReplyRoute(context.ResponseAddress, context.RequestId, context.ConversationId, context.CorrelationId);
        return new DeviceEvent(kind, messageId, tenantId, deviceId, when, reply);
    }
}
