using MassTransit;
using Provisioning.Contracts;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Metrics;

namespace Provisioning.Worker.Consumers;

public sealed class DeviceDeletedConsumer(GroupCommit groupCommit, TimeProvider clock, ProvisioningMetrics metrics, ILogger<DeviceDeletedConsumer> logger)
    : IConsumer<DeviceDeleted>
{
    public async Task Consume(ConsumeContext<DeviceDeleted> context)
    {
        var message = context.Message;
        var e = DeviceEventFactory.From(DeviceEventKind.Deleted, context, message.TenantId, message.DeviceId, message.OccurredAt, clock);
        using var scope = ConsumerLog.BeginScope(logger, e);
        var outcome = await groupCommit.SubmitAsync(e, context.CancellationToken);
        ConsumerLog.Consumed(logger, nameof(DeviceDeleted), outcome);
        metrics.EventConsumed(nameof(DeviceDeleted), outcome);
    }
}
