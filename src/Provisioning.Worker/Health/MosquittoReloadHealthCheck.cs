using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Health;

/// <summary>
/// Whether Mosquitto takes the worker's passwd file: the last projection cycle (rewrite, SIGHUP, probe login)
/// succeeded, as the projector recorded, and the broker can be signalled now (the projector only reloads when
/// something changed, so a broker that went away since would otherwise go unnoticed until a device waits).
/// While either fails, credentials are not released: the worker is not ready.
/// </summary>
public sealed class MosquittoReloadHealthCheck(ProjectionStatus status, IOptions<BrokerTargetOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = Evaluate(status.Current, context.Registration.FailureStatus, options.Value.ManagesTopics);
        if (result.Status != HealthStatus.Healthy)
        {
            return result;
        }

        var (pid, problem) = await MosquittoSignalProbe.CheckAsync(options.Value.PidFile, cancellationToken);
        var data = new Dictionary<string, object>(result.Data);
        if (pid is { } known)
        {
            data["pid"] = known;
        }

        return problem is null
            ? HealthCheckResult.Healthy(result.Description, data)
            : new HealthCheckResult(context.Registration.FailureStatus, problem, data: data);
    }

    /// <summary>Topic authorization off is a fact operators must see, not a failure: the data says so, the status stays.</summary>
    internal static HealthCheckResult Evaluate(ProjectionStatus.Snapshot snapshot, HealthStatus failureStatus, bool managesTopics = true)
    {
        var data = new Dictionary<string, object>
        {
            ["devices"] = snapshot.Devices,
            ["topicAuthorization"] = managesTopics ? "on" : "off: Mosquitto:AclFile is not set, every authenticated client may use every topic",
        };
        if (snapshot.LastAppliedAt is { } appliedAt)
        {
            data["lastAppliedAt"] = appliedAt.ToString("O", CultureInfo.InvariantCulture);
        }

        if (snapshot.LastError is { } error)
        {
            var since = snapshot.LastAppliedAt is { } lastGood ? $"last success at {lastGood:O}" : "no success since start";
            return new HealthCheckResult(
                failureStatus,
                $"The passwd projection (rewrite and Mosquitto reload) failed at {snapshot.LastErrorAt:O} ({since}): {error}",
                data: data);
        }

        return snapshot.LastAppliedAt is null
            ? new HealthCheckResult(failureStatus, "The passwd file has not been rendered and Mosquitto reloaded since the worker started.", data: data)
            : HealthCheckResult.Healthy($"Mosquitto confirmed the passwd file at {snapshot.LastAppliedAt:O} ({snapshot.Devices} devices)", data);
    }
}
