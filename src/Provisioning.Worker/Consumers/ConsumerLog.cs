using Provisioning.Worker.Devices;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Consumers;

internal static partial class ConsumerLog
{
    /// <summary>Ids are escaped: they are untrusted input and could otherwise forge log lines.</summary>
    public static IDisposable? BeginScope(ILogger logger, DeviceEvent e) =>
        logger.BeginScope(new Dictionary<string, object?>
        {
            ["MessageId"] = e.MessageId,
            ["TenantId"] = e.TenantId is null ? null : SafeText.Ascii(e.TenantId),
            ["DeviceId"] = e.DeviceId is null ? null : SafeText.Ascii(e.DeviceId),
        });

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Consumed {MessageType}: {Outcome}")]
    public static partial void Consumed(ILogger logger, string messageType, LifecycleOutcome outcome);
}
