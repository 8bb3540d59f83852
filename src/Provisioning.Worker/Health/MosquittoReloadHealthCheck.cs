using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Health;

/// <summary>
/// Whether the last passwd projection cycle (rewrite, SIGHUP, probe login) succeeded, from what the projector
/// recorded. While it fails, credentials are not released: the worker is not ready.
/// </summary>
public sealed class MosquittoReloadHealthCheck(ProjectionStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Evaluate(status.Current, context.Registration.FailureStatus));

    internal static HealthCheckResult Evaluate(ProjectionStatus.Snapshot snapshot, HealthStatus failureStatus)
    {
        var data = new Dictionary<string, object> { ["devices"] = snapshot.Devices };
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
