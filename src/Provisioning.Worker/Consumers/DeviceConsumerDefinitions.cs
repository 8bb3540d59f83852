using MassTransit;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Consumers;

/// <summary>
/// Queue names are part of the contract; retries cover transient faults only, then MassTransit dead-letters to <c>_error</c>;
/// a message the worker keeps dying on is stopped by the <see cref="RedeliveryGuard"/>.
/// </summary>
public sealed class DeviceRegisteredConsumerDefinition : ConsumerDefinition<DeviceRegisteredConsumer>
{
    private readonly RabbitMqOptions _options;

    public DeviceRegisteredConsumerDefinition(IOptions<RabbitMqOptions> options)
    {
        _options = options.Value;
        EndpointName = DeviceQueues.Registered;
        ConcurrentMessageLimit = _options.ConcurrentMessageLimit;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<DeviceRegisteredConsumer> consumerConfigurator, IRegistrationContext context) =>
        ConsumerEndpoint.Configure(endpointConfigurator, _options, context.GetRequiredService<RedeliveryGuard>().FilterFor(DeviceQueues.Registered));
}

public sealed class DeviceDeletedConsumerDefinition : ConsumerDefinition<DeviceDeletedConsumer>
{
    private readonly RabbitMqOptions _options;

    public DeviceDeletedConsumerDefinition(IOptions<RabbitMqOptions> options)
    {
        _options = options.Value;
        EndpointName = DeviceQueues.Deleted;
        ConcurrentMessageLimit = _options.ConcurrentMessageLimit;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<DeviceDeletedConsumer> consumerConfigurator, IRegistrationContext context) =>
        ConsumerEndpoint.Configure(endpointConfigurator, _options, context.GetRequiredService<RedeliveryGuard>().FilterFor(DeviceQueues.Deleted));
}

internal static class ConsumerEndpoint
{
    public static void Configure(IReceiveEndpointConfigurator endpoint, RabbitMqOptions options, IFilter<ConsumeContext> redeliveryGuard)
    {
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.PrefetchCount = options.PrefetchCount;
        }

        // Outside the retries: one count per delivery, not per attempt.
        endpoint.UseFilter(redeliveryGuard);

        endpoint.UseMessageRetry(retry =>
        {
            retry.Exponential(options.RetryLimit, options.RetryMinInterval, options.RetryMaxInterval, options.RetryMinInterval);
            retry.Handle<Exception>(TransientFaults.IsTransient);
        });
    }
}
