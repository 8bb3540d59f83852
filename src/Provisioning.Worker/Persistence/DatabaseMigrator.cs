using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Persistence;

/// <summary>
/// Applies the EF Core migrations before anything else starts (it is registered first). A database that is
/// still coming up is waited for; one that stays away stops the worker with the reason.
/// </summary>
public sealed partial class DatabaseMigrator(IServiceScopeFactory scopes, TimeProvider clock, ILogger<DatabaseMigrator> logger) : IHostedService
{
    private const long MigrationLockKey = 0x5072_6F76_4D69_6772; // "ProvMigr"
    private static readonly TimeSpan _patience = TimeSpan.FromSeconds(60);
    private static readonly Backoff _retry = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<ProvisioningDbContext>();
                await db.Database.OpenConnectionAsync(cancellationToken);
                try
                {
                    // Instances that start together (a rolling upgrade, replicas) take turns: the first migrates, the
                    // others then find nothing pending. Without it the second failed on "relation already exists"
                    // (found by the two-instances fault scenario). A session lock, on the connection EF migrates on.
                    await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_lock({MigrationLockKey})", cancellationToken);

                    // Without the history table EF logs a failed query as an error on every fresh database.
                    await db.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken);
                    var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
                    await db.Database.MigrateAsync(cancellationToken);
                    await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({MigrationLockKey})", cancellationToken);
                    Log.Migrated(logger, pending.Count, string.Join(", ", pending));
                }
                finally
                {
                    await db.Database.CloseConnectionAsync(); // a lock still held (a failure) ends with the session
                }

                return;
            }
            catch (Exception e) when (TransientFaults.IsTransient(e) && clock.GetElapsedTime(started) < _patience)
            {
                Log.Waiting(logger, attempt, e.Message);
                await Task.Delay(_retry.Delay(attempt), clock, cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Database schema up to date ({Count} migrations applied now: {Migrations})")]
        public static partial void Migrated(ILogger logger, int count, string migrations);

        [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Database not reachable yet (attempt {Attempt}): {Reason}")]
        public static partial void Waiting(ILogger logger, int attempt, string reason);
    }
}
