namespace Provisioning.Worker.Configuration;

/// <summary>
/// The <c>Agent</c> section: which broker this process keeps. Set for <c>Provisioning.Worker agent</c>; a worker
/// without <c>Brokers:Groups</c> keeps its local broker under the defaults.
/// </summary>
public sealed class AgentOptions
{
    public const string SectionName = "Agent";

    /// <summary>The broker's name, unique in the fleet.</summary>
    public string Broker { get; set; } = Brokers.BrokerGroups.DefaultBroker;

    /// <summary>The group whose devices the broker holds.</summary>
    public string Group { get; set; } = Brokers.BrokerGroups.Default;

    /// <summary>
    /// <c>/health/ready</c> answers 200 only while the broker was proven, at most this long ago, to run every change
    /// committed before that proof (the load balancer's health check).
    /// </summary>
    public TimeSpan MaxLag { get; set; } = TimeSpan.FromSeconds(10);
}
