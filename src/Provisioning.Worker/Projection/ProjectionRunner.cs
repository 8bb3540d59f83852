using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Metrics;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Projection;

/// <summary>
/// The projection of the database into Mosquitto's files (the log messages keep the name "passwd projection", which
/// scripts and tests match). Runs <see cref="ProjectionCycle"/> whenever a device change commits (or at the poll interval), coalescing every
/// change that arrived meanwhile into one cycle; backs off after a failure and then rebuilds the files from a full
/// read; records the outcome for health and metrics.
/// </summary>
public sealed partial class ProjectionRunner(
    ProjectionCycle cycle,
    DeviceChangeSignal wakeUp,
    DispatchWakeUp dispatchWakeUp,
    ProjectionStatus status,
    ProvisioningMetrics metrics,
    IOptions<MosquittoOptions> mosquittoOptions,
    IOptions<ProvisioningOptions> provisioningOptions,
    Topics.TopicRules topicRules,
    TimeProvider clock,
    ILogger<ProjectionRunner> logger) : DrainingBackgroundService
{
    /// <summary>Above this many devices, rules that need a block per device make every reload noticeably slow (docs/topic-authorization.md).</summary>
    public const int BlockRulesWarningDevices = 10_000;

    private readonly ProvisioningOptions _provisioning = provisioningOptions.Value;
    private readonly ReloadPacer _pacer = new(mosquittoOptions.Value.MaxReloadShare, clock);
    private bool _warnedOfBlocks;
    private readonly Backoff _afterFailure = new(TimeSpan.FromMilliseconds(200), provisioningOptions.Value.MaxBackoff);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!mosquittoOptions.Value.ManagesTopics)
        {
            Log.TopicsUnrestricted(logger);
        }

        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _pacer.WaitAsync(stoppingToken);
                var started = clock.GetUtcNow();
                var outcome = await cycle.RunAsync(AbortToken);
                failures = 0;
                Record(outcome, started);
                if (!outcome.Busy)
                {
                    await wakeUp.WaitAsync(_provisioning.PollInterval, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                failures++;
                cycle.Distrust();
                status.Failed(clock.GetUtcNow(), e.Message);
                metrics.ProjectionFailed(cycle.Broker.Name);
                Log.CycleFailed(logger, e, failures, _afterFailure.Delay(failures).TotalSeconds);
                await _afterFailure.WaitAsync(failures, clock, stoppingToken);
            }
        }
    }

    private void Record(CycleOutcome outcome, DateTimeOffset started)
    {
        status.CycleSucceeded(started, outcome.FullRead || outcome.Rewritten);
        if (outcome.Rewritten)
        {
            _pacer.Reloaded(outcome.Stall);
            Log.Rewritten(logger, outcome.Devices, outcome.Written.TotalMilliseconds, outcome.Elapsed.TotalMilliseconds, outcome.Stall.TotalMilliseconds, _pacer.Gap.TotalMilliseconds);
            metrics.ProjectionRewritten(cycle.Broker.Name, outcome.Elapsed, outcome.Stall);
        }

        if (outcome.FullRead && !_warnedOfBlocks && mosquittoOptions.Value.ManagesTopics && topicRules.BlockRules.Count > 0 && outcome.Devices > BlockRulesWarningDevices)
        {
            _warnedOfBlocks = true;
            Log.BlockRulesAtScale(logger, outcome.Devices, string.Join("; ", topicRules.BlockRules.Select(r => $"{r.Access} {r.Template}")));
        }

        if (outcome.Rewritten)
        {
            status.Applied(clock.GetUtcNow(), outcome.Devices);
            metrics.ProjectionApplied(outcome.Devices);
            Log.Applied(logger, cycle.Broker.Name, outcome.ChangedDevices, outcome.Devices, outcome.FullRead);
        }

        if (outcome.Recorded)
        {
            dispatchWakeUp.Notify(); // replies this broker was the last to wait for are due (Outbox/ReplyRelease.cs)
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Passwd projection of broker {Broker} applied {ChangedRows} device changes; {Devices} devices in the files (full read: {FullRead})")]
        public static partial void Applied(ILogger logger, string broker, int changedRows, int devices, bool fullRead);

        [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "Passwd file rewritten with {Devices} devices in {WrittenMs:0.0} ms and reloaded in {ElapsedMs:0.0} ms; the broker stalled {StallMs:0.0} ms, the next reload waits {GapMs:0.0} ms after it")]
        public static partial void Rewritten(ILogger logger, int devices, double writtenMs, double elapsedMs, double stallMs, double gapMs);

        [LoggerMessage(EventId = 206, Level = LogLevel.Warning, Message = "{Devices} devices, and the topic rules {Rules} need one acl_file block per device: Mosquitto loads those in O(N²) at every reload. Rules that use the ids only as {{username}} or {{tenantId}}/{{deviceId}} are one pattern line (see docs/topic-authorization.md)")]
        public static partial void BlockRulesAtScale(ILogger logger, int devices, string rules);

        [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "Passwd projection failed (attempt {Failures}); retrying in {DelaySeconds:0.0} s; replies wait")]
        public static partial void CycleFailed(ILogger logger, Exception exception, int failures, double delaySeconds);

        [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Mosquitto:AclFile is not set: topic access is not managed, every authenticated device may read and write every tenant's topics (see docs/topic-authorization.md)")]
        public static partial void TopicsUnrestricted(ILogger logger);
    }
}
