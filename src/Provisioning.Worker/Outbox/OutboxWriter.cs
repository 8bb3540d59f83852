using System.Text.Json;
using MassTransit;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Outbox;

/// <summary>Adds a reply to the consumer's transaction; the dispatcher sends it later.</summary>
public static class OutboxWriter
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static OutboxMessage Add<T>(ProvisioningDbContext db, T message, DeviceEvent cause, string tenantId, string deviceId, bool awaitsBroker, DateTimeOffset now)
        where T : class
    {
        var row = Create(message, cause, tenantId, deviceId, awaitsBroker, now);
        db.Outbox.Add(row);
        return row;
    }

    /// <summary>The row for <paramref name="message"/>, for a caller that writes it itself.</summary>
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
