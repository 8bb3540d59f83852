using Microsoft.Extensions.Options;
using Provisioning.Worker.Health;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Metrics;

/// <summary>
/// Refreshes the gauges that are read rather than counted: the outbox backlog and the brokers (PostgreSQL) and the dead-letter
/// queue depths (RabbitMQ). A source that cannot be read leaves its gauge out of the scrape instead of reporting a
/// stale value; the health checks say why.
/// </summary>
public sealed partial class OperationsSampler(
    IServiceScopeFactory scopes,
    DeadLetterQueueDepths deadLetters,
    ProvisioningMetrics metrics,
    Brokers.BrokerFleet fleet,
    BrokerFleetMetrics fleetMetrics,
    IOptions<MetricsOptions> options,
    TimeProvider clock,
    ILogger<OperationsSampler> logger) : BackgroundService
{
    private bool _outboxFailing;
    private bool _deadLettersFailing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SampleInterval, clock);
        do
        {
            await SampleOutboxAsync(stoppingToken);
            await SampleDeadLettersAsync(stoppingToken);
        }
        while (await WaitAsync(timer, stoppingToken));

        await deadLetters.DisposeAsync();
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task SampleOutboxAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ProvisioningDbContext>();
            metrics.SetBacklog(await OutboxBacklog.ReadAsync(db, fleet.SilenceTimeout, cancellationToken));
            fleetMetrics.SetBrokers(await Brokers.BrokerRecords.ListAsync(db, fleet.SilenceTimeout, cancellationToken), fleet.Groups);
            _outboxFailing = false;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.SetBacklog(null);
            fleetMetrics.SetBrokers(null, fleet.Groups);
            if (!_outboxFailing)
            {
                Log.SampleFailed(logger, "outbox backlog", e.Message);
            }

            _outboxFailing = true;
        }
    }

    private async Task SampleDeadLettersAsync(CancellationToken cancellationToken)
    {
        try
        {
            metrics.SetDeadLetters(await deadLetters.ReadDepthsAsync(cancellationToken));
            _deadLettersFailing = false;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.SetDeadLetters(new Dictionary<string, long>());
            await deadLetters.DisposeAsync();
            if (!_deadLettersFailing)
            {
                Log.SampleFailed(logger, "dead-letter queue depths", e.Message);
            }

            _deadLettersFailing = true;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "Metrics: could not sample the {Source} ({Error}); the gauge is left out until it can")]
        public static partial void SampleFailed(ILogger logger, string source, string error);
    }
}
