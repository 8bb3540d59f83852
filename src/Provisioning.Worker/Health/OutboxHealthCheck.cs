using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Health;

/// <summary>
/// Replies pile up when the broker does not take the passwd file or RabbitMQ refuses them: a backlog or an old
/// reply beyond <c>Health:MaxOutboxBacklog</c> / <c>Health:MaxReplyAge</c> means devices are waiting for credentials.
/// </summary>
public sealed class OutboxHealthCheck(ProvisioningDbContext db, Brokers.BrokerFleet fleet, IOptions<HealthOptions> options, TimeProvider clock) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        OutboxBacklog backlog;
        try
        {
            backlog = await OutboxBacklog.ReadAsync(db, fleet.SilenceTimeout, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"Cannot read the outbox: {FailureText.Describe(e)}");
        }

        return Evaluate(backlog, clock.GetUtcNow(), options.Value, context.Registration.FailureStatus);
    }

    internal static HealthCheckResult Evaluate(OutboxBacklog backlog, DateTimeOffset now, HealthOptions bounds, HealthStatus failureStatus)
    {
        var age = backlog.OldestAge(now);
        var data = new Dictionary<string, object>
        {
            ["backlog"] = backlog.Total,
            ["awaitingBroker"] = backlog.AwaitingBroker,
            ["readyToSend"] = backlog.ReadyToSend,
            ["oldestReplyAgeSeconds"] = Math.Round(age.TotalSeconds, 3),
            ["devicesNotYetConfirmedByBroker"] = backlog.UnconfirmedDevices,
        };
        var problems = new List<string>(2);
        if (backlog.Total > bounds.MaxOutboxBacklog)
        {
            problems.Add($"{backlog.Total} replies undelivered ({backlog.AwaitingBroker} waiting for the broker, {backlog.ReadyToSend} ready to send), more than {HealthOptions.SectionName}:MaxOutboxBacklog = {bounds.MaxOutboxBacklog}");
        }

        if (age > bounds.MaxReplyAge)
        {
            problems.Add($"the oldest undelivered reply is {Seconds(age)} s old, older than {HealthOptions.SectionName}:MaxReplyAge = {Seconds(bounds.MaxReplyAge)} s");
        }

        return problems.Count > 0
            ? new HealthCheckResult(failureStatus, string.Join("; ", problems), data: data)
            : HealthCheckResult.Healthy($"{backlog.Total} replies undelivered, the oldest {Seconds(age)} s old", data);
    }

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
}
