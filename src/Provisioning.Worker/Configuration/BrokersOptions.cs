namespace Provisioning.Worker.Configuration;

/// <summary>
/// The <c>Brokers</c> section: the broker fleet the central worker serves (docs/fleet.md). Without groups the worker
/// projects to its local broker itself, as one group named <c>default</c>.
/// </summary>
public sealed class BrokersOptions
{
    public const string SectionName = "Brokers";

    /// <summary>Each group's endpoint, told to its devices; its brokers are kept by agents (<c>Provisioning.Worker agent</c>).</summary>
    public Dictionary<string, BrokerEndpoint> Groups { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Tenants pinned to a group at their first registration: tenant id → group.</summary>
    public Dictionary<string, string> Tenants { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A broker whose agent has not reported for this long is no longer waited for.</summary>
    public TimeSpan SilenceTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>True when agents keep the brokers and this process touches no broker file.</summary>
    public bool IsFleet => Groups.Count > 0;
}

/// <summary>Where a group's devices connect: its load balancer or DNS name.</summary>
public sealed class BrokerEndpoint
{
    public string Host { get; set; } = string.Empty;

    public int Port { get; set; } = 1883;
}
