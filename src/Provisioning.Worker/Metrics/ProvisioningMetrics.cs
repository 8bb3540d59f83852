using System.Diagnostics.Metrics;
using Provisioning.Contracts;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Health;

namespace Provisioning.Worker.Metrics;

/// <summary>
/// The worker's instruments, on one <see cref="Meter"/> named <see cref="MeterName"/>, with OpenTelemetry-style
/// names (dots, units in the instrument, not in the name). Callers record with one call; the values that are
/// sampled rather than counted (outbox backlog, dead letters) are set by <see cref="OperationsSampler"/>.
/// </summary>
public sealed class ProvisioningMetrics
{
    public const string MeterName = "Provisioning.Worker";

    // Latencies from milliseconds (a reload) to minutes (a reply held up by an outage).
    private static readonly double[] _secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private readonly Counter<long> _eventsConsumed;
    private readonly Counter<long> _credentialsIssued;
    private readonly Counter<long> _credentialsRevoked;
    private readonly Counter<long> _credentialsRejected;
    private readonly Counter<long> _projectionRewrites;
    private readonly Counter<long> _projectionFailures;
    private readonly Histogram<double> _projectionDuration;
    private readonly Histogram<double> _reloadStall;
    private readonly Histogram<double> _deliveryLatency;
    private readonly Counter<long> _deliveryFailures;
    private readonly Counter<long> _unreadablePasswords;
    private readonly Meter _meter;
    private readonly TimeProvider _clock;
    private volatile OutboxBacklog? _backlog;
    private volatile int _devicesInFiles;
    private volatile IReadOnlyDictionary<string, long> _deadLetters = new Dictionary<string, long>();

    public ProvisioningMetrics(IMeterFactory meterFactory, TimeProvider clock)
    {
        _clock = clock;
        // The factory owns (and disposes) the meter.
        _meter = meterFactory.Create(MeterName);
        _eventsConsumed = _meter.CreateCounter<long>(
            "provisioning.events.consumed", "{event}", "Device events consumed, by type (DeviceRegistered, DeviceDeleted) and outcome (issued, revoked, rejected, duplicate).");
        _credentialsIssued = _meter.CreateCounter<long>(
            "provisioning.credentials.issued", "{credential}", "CredentialsIssued replies delivered: credentials the broker accepts and the device was told.");
        _credentialsRevoked = _meter.CreateCounter<long>(
            "provisioning.credentials.revoked", "{credential}", "CredentialsRevoked replies delivered: credentials the broker refuses.");
        _credentialsRejected = _meter.CreateCounter<long>(
            "provisioning.credentials.rejected", "{event}", "ProvisioningRejected replies delivered (invalid ids, stale events).");
        _projectionRewrites = _meter.CreateCounter<long>(
            "provisioning.projection.rewrites", "{rewrite}", "Passwd file rewrites confirmed by Mosquitto (file replaced, SIGHUP, probe login).");
        _projectionFailures = _meter.CreateCounter<long>(
            "provisioning.projection.failures", "{failure}", "Passwd projection cycles that failed and will be retried; replies wait meanwhile.");
        _projectionDuration = _meter.CreateHistogram(
            "provisioning.projection.duration", "s", "Time to rewrite the passwd file and have Mosquitto confirm it.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = _secondsBuckets });
        _reloadStall = _meter.CreateHistogram(
            "provisioning.broker.reload_stall", "s", "How long each reload stalled Mosquitto, from the SIGHUP to the probe's proof; its rate of sum is the broker's share of time spent reloading (Mosquitto:MaxReloadShare).", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = _secondsBuckets });
        _deliveryLatency = _meter.CreateHistogram(
            "provisioning.outbox.delivery_latency", "s", "From the event's transaction to the reply's confirmed delivery to RabbitMQ.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = _secondsBuckets });
        _deliveryFailures = _meter.CreateCounter<long>(
            "provisioning.outbox.delivery_failures", "{attempt}", "Reply deliveries that failed and will be retried.");
        _unreadablePasswords = _meter.CreateCounter<long>(
            "provisioning.outbox.unreadable_passwords", "{reply}",
            "Replies whose stored password could not be decrypted (its key left the key ring), by what was done: reissued (the device gets a new credential instead), superseded (answered with a fresh password, a later reply to the device carries its credential).");

        _meter.CreateObservableGauge(
            "provisioning.passwd.devices", () => _devicesInFiles, "{device}", "Device lines in the passwd file after the last confirmed rewrite.");
        _meter.CreateObservableGauge("provisioning.outbox.backlog", ObserveBacklog, "{reply}", "Undelivered replies, by state (awaiting_broker, ready).");
        _meter.CreateObservableGauge("provisioning.outbox.oldest_age", ObserveOldestAge, "s", "Age of the oldest undelivered reply.");
        _meter.CreateObservableGauge("provisioning.dead_letters", ObserveDeadLetters, "{message}", "Messages waiting in the _error and _skipped queues, by queue.");
    }

    public void EventConsumed(string messageType, LifecycleOutcome outcome) =>
        _eventsConsumed.Add(1, new("type", messageType), new("outcome", OutcomeName(outcome)));

    /// <summary>A reply confirmed by RabbitMQ, <paramref name="latency"/> after its event was consumed.</summary>
    public void ReplyDelivered(string messageType, TimeSpan latency)
    {
        var counter = messageType switch
        {
            nameof(CredentialsIssued) => _credentialsIssued,
            nameof(CredentialsRevoked) => _credentialsRevoked,
            nameof(ProvisioningRejected) => _credentialsRejected,
            _ => null,
        };
        counter?.Add(1);
        _deliveryLatency.Record(Math.Max(0, latency.TotalSeconds), new KeyValuePair<string, object?>("type", messageType));
    }

    public void ReplyDeliveryFailed(string messageType) => _deliveryFailures.Add(1, new KeyValuePair<string, object?>("type", messageType));

    /// <summary>A reply's password could not be decrypted; <paramref name="outcome"/> says what replaced it.</summary>
    public void UnreadablePassword(string outcome) => _unreadablePasswords.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A rewrite took <paramref name="duration"/> in all, of which the broker stalled <paramref name="stall"/> reloading.</summary>
    public void ProjectionRewritten(string broker, TimeSpan duration, TimeSpan stall)
    {
        var tag = new KeyValuePair<string, object?>("broker", broker);
        _projectionRewrites.Add(1, tag);
        _projectionDuration.Record(duration.TotalSeconds, tag);
        _reloadStall.Record(stall.TotalSeconds, tag);
    }

    public void ProjectionFailed(string broker) => _projectionFailures.Add(1, new KeyValuePair<string, object?>("broker", broker));

    /// <summary>The broker now runs with files that hold <paramref name="devices"/> devices.</summary>
    public void ProjectionApplied(int devices) => _devicesInFiles = devices;

    internal void SetBacklog(OutboxBacklog? backlog) => _backlog = backlog;

    internal void SetDeadLetters(IReadOnlyDictionary<string, long> depths) => _deadLetters = depths;

    internal static string OutcomeName(LifecycleOutcome outcome) => outcome switch
    {
        LifecycleOutcome.Issued => "issued",
        LifecycleOutcome.Revoked => "revoked",
        LifecycleOutcome.Rejected => "rejected",
        LifecycleOutcome.Duplicate => "duplicate",
        _ => "other",
    };

    private IEnumerable<Measurement<long>> ObserveBacklog()
    {
        if (_backlog is { } backlog)
        {
            yield return new(backlog.AwaitingBroker, new KeyValuePair<string, object?>("state", "awaiting_broker"));
            yield return new(backlog.ReadyToSend, new KeyValuePair<string, object?>("state", "ready"));
        }
    }

    private IEnumerable<Measurement<double>> ObserveOldestAge()
    {
        if (_backlog is { } backlog)
        {
            yield return new(backlog.OldestAge(_clock.GetUtcNow()).TotalSeconds);
        }
    }

    private IEnumerable<Measurement<long>> ObserveDeadLetters()
    {
        foreach (var (queue, depth) in _deadLetters)
        {
            yield return new(depth, new KeyValuePair<string, object?>("queue", queue));
        }
    }
}
