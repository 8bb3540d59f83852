using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Health;

/// <summary>
/// An agent's answer to its load balancer: healthy only while its broker was proven, at most <c>Agent:MaxLag</c>
/// ago, to run every change committed before that proof — and never before a full rebuild since the process
/// started (a returning agent does not vouch for files it has not written).
/// </summary>
public sealed class BrokerLagHealthCheck(ProjectionStatus status, IOptions<AgentOptions> options, TimeProvider clock) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Evaluate(status.InEffectSince, clock.GetUtcNow(), options.Value, context.Registration.FailureStatus));

    internal static HealthCheckResult Evaluate(DateTimeOffset? inEffectSince, DateTimeOffset now, AgentOptions agent, HealthStatus failureStatus)
    {
        if (inEffectSince is not { } since)
        {
            return new HealthCheckResult(failureStatus, $"broker {agent.Broker} (group {agent.Group}): its files have not been rebuilt and proven since this agent started");
        }

        var lag = now - since;
        var data = new Dictionary<string, object> { ["lagSeconds"] = Math.Round(Math.Max(0, lag.TotalSeconds), 3) };
        return lag <= agent.MaxLag
            ? HealthCheckResult.Healthy($"broker {agent.Broker} (group {agent.Group}) runs the group's current files ({Seconds(lag)} s behind)", data)
            : new HealthCheckResult(failureStatus, $"broker {agent.Broker} (group {agent.Group}) was last proven current {Seconds(lag)} s ago, more than {AgentOptions.SectionName}:MaxLag = {Seconds(agent.MaxLag)} s", data: data);
    }

    private static string Seconds(TimeSpan value) => Math.Max(0, value.TotalSeconds).ToString("0.#", CultureInfo.InvariantCulture);
}
