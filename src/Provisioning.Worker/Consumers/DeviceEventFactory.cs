using MassTransit;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Secrets;

namespace Provisioning.Worker.Consumers;

internal static class DeviceEventFactory
{
    /// <summary>occurredAt when given; else the envelope's sentTime; else the time of receipt.</summary>
    /// <param name="credentialKey">A registration's <c>credentialKey</c> as received; checked here, once.</param>
    public static DeviceEvent From(DeviceEventKind kind, ConsumeContext context, string? tenantId, string? deviceId, DateTimeOffset? occurredAt, TimeProvider clock, string? credentialKey = null)
    {
        var messageId = context.MessageId
            ?? throw new InvalidOperationException("The message has no messageId; without it the inbox cannot guarantee exactly-once effect.");
        var when = occurredAt
            ?? (context.SentTime is { } sent ? new DateTimeOffset(DateTime.SpecifyKind(sent, DateTimeKind.Utc)) : clock.GetUtcNow());
        var reply = new ReplyRoute(context.ResponseAddress, context.RequestId, context.ConversationId, context.CorrelationId);
        return new DeviceEvent(kind, messageId, tenantId, deviceId, when, reply, CredentialKey.Parse(credentialKey));
    }
}
