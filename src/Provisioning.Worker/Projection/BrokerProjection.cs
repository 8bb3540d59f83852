using Microsoft.Extensions.Options;
using Provisioning.Worker.Brokers;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Metrics;
using Provisioning.Worker.Mosquitto;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Projection;

/// <summary>
/// The projection unit of one broker: its identity (<c>Agent:Broker</c>/<c>Agent:Group</c>; <c>default</c>/<c>default</c>
/// for a worker that keeps its local broker), its files (<c>Mosquitto:*</c>), reloader, status, leader lock and
/// checkpoint (both keyed by the broker's name), and the runner. An agent and a standalone worker register it the
/// same way; a central worker does not.
/// </summary>
public static class BrokerProjection
{
    public static IServiceCollection AddBrokerProjection(this IServiceCollection services)
    {
        services.AddSingleton(provider =>
        {
            var agent = provider.GetRequiredService<IOptions<AgentOptions>>().Value;
            return new BrokerIdentity(agent.Broker, agent.Group);
        });
        services.AddSingleton<ProjectionStatus>();
        services.AddSingleton<MosquittoReloader>();
        services.AddSingleton(provider => ActivatorUtilities.CreateInstance<ProjectionCycle>(provider, ProjectedFiles.Create(provider)));
        services.AddHostedService(provider =>
        {
            var status = provider.GetRequiredService<ProjectionStatus>();
            var clock = provider.GetRequiredService<TimeProvider>();
            provider.GetRequiredService<BrokerFleetMetrics>().KeepsBroker(
                provider.GetRequiredService<BrokerIdentity>(),
                () => status.InEffectSince is { } since ? clock.GetUtcNow() - since : null);
            return ActivatorUtilities.CreateInstance<ProjectionRunner>(provider);
        });
        return services;
    }

    /// <summary>The device rules, parsed once: the acl_file is written from them, and devices are told them.</summary>
    public static IServiceCollection AddTopicRules(this IServiceCollection services) =>
        services.AddSingleton(provider => TopicRules.Parse(provider.GetRequiredService<IOptions<MosquittoOptions>>().Value.EffectiveDeviceTopics));
}
