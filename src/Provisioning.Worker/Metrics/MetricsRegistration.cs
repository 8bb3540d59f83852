using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Provisioning.Worker.Metrics;

public static class MetricsRegistration
{
    /// <summary>MassTransit's own meter: consume/send counts and durations, faults by message type.</summary>
    public const string MassTransitMeterName = "MassTransit";

    /// <summary>The <c>service_name</c> of the exported <c>target_info</c>.</summary>
    public const string ServiceName = "provisioning-worker";

    /// <summary>
    /// The instruments and their exporter: OpenTelemetry's Prometheus exporter serves the text format at
    /// <c>/metrics</c>. The instruments are plain <see cref="System.Diagnostics.Metrics"/>: exporting over OTLP
    /// instead is a change here only.
    /// </summary>
    public static IServiceCollection AddProvisioningMetrics(this IServiceCollection services, Hosting.WorkerRole role)
    {
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();
        services.AddSingleton<ProvisioningMetrics>();
        services.AddSingleton<BrokerFleetMetrics>();
        if (Hosting.WorkerRoles.Consumes(role))
        {
            // An agent has no RabbitMQ, and the fleet's gauges belong to the worker that waits for the brokers.
            services.AddSingleton<DeadLetterQueueDepths>();
            services.AddHostedService<OperationsSampler>();
        }
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics => metrics
            .AddMeter(ProvisioningMetrics.MeterName, MassTransitMeterName)
            .AddPrometheusExporter());
        return services;
    }

    public static IEndpointRouteBuilder MapProvisioningMetricsEndpoint(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        return endpoints;
    }
}
