using MassTransit;
using Provisioning.Contracts;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Metrics;

namespace Provisioning.Worker.Consumers;

public sealed class DeviceRegisteredConsumer(GroupCommit groupCommit, TimeProvider clock, ProvisioningMetrics metrics, ILogger<DeviceRegisteredConsumer> logger)
    : IConsumer<DeviceRegistered>
{
    public async Task Consume(ConsumeContext<DeviceRegistered> context)
    {
        var message = context.Message;
        var e = DeviceEventFactory.From(DeviceEventKind.Registered, context, message.TenantId, message.DeviceId, message.OccurredAt, clock, message.CredentialKey);
        using var scope = ConsumerLog.BeginScope(logger, e);
        var outcome = await groupCommit.SubmitAsync(e, context.CancellationToken);
        ConsumerLog.Consumed(logger, nameof(DeviceRegistered), outcome);
        metrics.EventConsumed(nameof(DeviceRegistered), outcome);
    }
}
