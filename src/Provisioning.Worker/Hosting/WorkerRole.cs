using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Hosting;

/// <summary>What one process of the worker does (DESIGN §3, docs/fleet.md).</summary>
public enum WorkerRole
{
    /// <summary>No <c>Brokers:Groups</c>: consumes, dispatches, and keeps its local broker itself (the group <c>default</c>).</summary>
    Standalone,

    /// <summary><c>Brokers:Groups</c> set: consumes and dispatches; agents keep the brokers; touches no broker file.</summary>
    Central,

    /// <summary><c>Provisioning.Worker agent</c>: keeps one broker of one group; consumes nothing.</summary>
    Agent,
}

public static class WorkerRoles
{
    /// <param name="agent">The process was started as <c>agent</c>, or is an operator command beside one (<c>Agent:Broker</c> set).</param>
    public static WorkerRole Of(IConfiguration configuration, bool agent) =>
        agent ? WorkerRole.Agent
        : configuration.GetSection($"{BrokersOptions.SectionName}:{nameof(BrokersOptions.Groups)}").GetChildren().Any() ? WorkerRole.Central
        : WorkerRole.Standalone;

    /// <summary>An operator command's view: beside an agent when <c>Agent:Broker</c> is configured.</summary>
    public static WorkerRole OfOperatorCommand(IConfiguration configuration) =>
        Of(configuration, agent: !string.IsNullOrEmpty(configuration[$"{AgentOptions.SectionName}:{nameof(AgentOptions.Broker)}"]));

    public static bool Consumes(this WorkerRole role) => role != WorkerRole.Agent;

    public static bool KeepsBroker(this WorkerRole role) => role != WorkerRole.Central;
}
