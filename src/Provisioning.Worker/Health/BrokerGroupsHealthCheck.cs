using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Provisioning.Worker.Brokers;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Health;

/// <summary>
/// The central worker's view of the fleet: every configured group needs a live broker, or its replies wait
/// (Outbox/ReplyRelease.cs). Unhealthy names each group without one.
/// </summary>
public sealed class BrokerGroupsHealthCheck(ProvisioningDbContext db, BrokerFleet fleet) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<BrokerRecord> brokers;
        try
        {
            brokers = await BrokerRecords.ListAsync(db, fleet.SilenceTimeout, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"Cannot read the brokers: {FailureText.Describe(e)}");
        }

        return Evaluate(brokers, fleet.Groups, fleet.SilenceTimeout, context.Registration.FailureStatus);
    }

    internal static HealthCheckResult Evaluate(IReadOnlyList<BrokerRecord> brokers, IReadOnlyList<string> groups, TimeSpan silenceTimeout, HealthStatus failureStatus)
    {
        var data = groups.ToDictionary(g => g, g => (object)brokers.Count(b => b.Group == g && b.Live));
        var down = groups.Where(g => !brokers.Any(b => b.Group == g && b.Live)).ToList();
        if (down.Count == 0)
        {
            return HealthCheckResult.Healthy($"every broker group has a live broker ({string.Join(", ", groups.Select(g => $"{g}: {data[g]}"))})", data);
        }

        var seconds = silenceTimeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
        return new HealthCheckResult(
            failureStatus,
            $"no live broker in group {string.Join(", ", down.Select(g => $"'{g}'"))}: its replies wait (a live broker's agent reported within Brokers:SilenceTimeout = {seconds} s and is not taken out; see 'brokers list')",
            data: data);
    }
}
