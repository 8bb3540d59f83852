using System.Diagnostics.Metrics;
using Provisioning.Worker.Brokers;

namespace Provisioning.Worker.Metrics;

/// <summary>
/// The fleet's gauges, on the worker's meter: from the <c>brokers</c> table (the consuming worker, sampled by
/// <see cref="OperationsSampler"/>) and, in a process that keeps a broker, that broker's lag.
/// </summary>
public sealed class BrokerFleetMetrics
{
    private volatile IReadOnlyList<BrokerRecord>? _brokers;
    private volatile IReadOnlyList<string> _groups = [];
    private readonly Meter _meter;
    private (BrokerIdentity Broker, Func<TimeSpan?> Lag)? _lag;

    public BrokerFleetMetrics(IMeterFactory meterFactory)
    {
        // The factory owns (and disposes) the meter; it is the worker's one meter (same name as ProvisioningMetrics').
        _meter = meterFactory.Create(ProvisioningMetrics.MeterName);
        var meter = _meter;
        meter.CreateObservableGauge("provisioning.broker.silent", ObserveSilent, "{broker}", "1 for a broker not taken out whose agent has not reported within Brokers:SilenceTimeout (replies no longer wait for it), else 0.");
        meter.CreateObservableGauge("provisioning.broker.group.live_brokers", ObserveLiveBrokers, "{broker}", "Live brokers of each configured group; 0: the group's replies wait.");
        meter.CreateObservableGauge("provisioning.broker.heartbeat_age", ObserveHeartbeatAge, "s", "Time since each broker's agent last reported.");
        meter.CreateObservableGauge("provisioning.broker.lag", ObserveLag, "s", "Time since this process last proved its broker runs every change committed before (Agent:MaxLag bounds it for /health/ready).");
    }

    internal void SetBrokers(IReadOnlyList<BrokerRecord>? brokers, IReadOnlyList<string> groups)
    {
        _brokers = brokers;
        _groups = groups;
    }

    /// <summary>This process keeps <paramref name="broker"/>; <paramref name="lag"/> reads its lag (null before its first full rebuild).</summary>
    internal void KeepsBroker(BrokerIdentity broker, Func<TimeSpan?> lag) => _lag = (broker, lag);

    private static KeyValuePair<string, object?>[] Tags(BrokerRecord broker) => [new("broker", broker.Name), new("group", broker.Group)];

    private IEnumerable<Measurement<int>> ObserveSilent() =>
        (_brokers ?? []).Select(b => new Measurement<int>(b.Silent ? 1 : 0, Tags(b)));

    private IEnumerable<Measurement<int>> ObserveLiveBrokers()
    {
        if (_brokers is not { } brokers)
        {
            yield break;
        }

        foreach (var group in _groups.Union(brokers.Select(b => b.Group), StringComparer.Ordinal))
        {
            yield return new(brokers.Count(b => b.Group == group && b.Live), new KeyValuePair<string, object?>("group", group));
        }
    }

    private IEnumerable<Measurement<double>> ObserveHeartbeatAge() =>
        (_brokers ?? []).Where(b => b.HeartbeatAge is not null).Select(b => new Measurement<double>(b.HeartbeatAge!.Value.TotalSeconds, Tags(b)));

    private IEnumerable<Measurement<double>> ObserveLag()
    {
        if (_lag is { } source && source.Lag() is { } lag)
        {
            yield return new(lag.TotalSeconds, new KeyValuePair<string, object?>("broker", source.Broker.Name), new KeyValuePair<string, object?>("group", source.Broker.Group));
        }
    }
}
