using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Inbox;

/// <summary>Forgets message ids older than <c>Provisioning:InboxRetention</c>; a redelivery after that is treated as new.</summary>
public sealed partial class InboxCleanupService(
    IServiceScopeFactory scopes,
    IOptions<ProvisioningOptions> options,
    TimeProvider clock,
    ILogger<InboxCleanupService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.InboxCleanupInterval, clock);
        do
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<ProvisioningDbContext>();
                var cutoff = clock.GetUtcNow() - options.Value.InboxRetention;
                var removed = await db.Database.ExecuteSqlAsync($"DELETE FROM inbox WHERE received_at < {cutoff}", stoppingToken);
                // Counts left behind by a redelivered message whose worker died again before it could forget them.
                await db.Database.ExecuteSqlAsync($"DELETE FROM delivery_attempts WHERE last_attempt_at < {cutoff}", stoppingToken);
                Log.Pruned(logger, removed, cutoff);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Log.Failed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => t.IsCompletedSuccessfully && t.Result, TaskScheduler.Default));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 500, Level = LogLevel.Debug, Message = "Inbox: forgot {Removed} message ids received before {Cutoff}")]
        public static partial void Pruned(ILogger logger, int removed, DateTimeOffset cutoff);

        [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "Inbox cleanup failed; it runs again at the next interval")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
