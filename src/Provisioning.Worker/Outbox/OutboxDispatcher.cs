using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Metrics;
using Provisioning.Worker.Persistence;
using Provisioning.Worker.Secrets;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Outbox;

/// <summary>
/// Delivers the replies that are due: those the brokers of their group have caught up with (<see cref="ReplyRelease"/>). Rows are claimed with a lease
/// (<c>FOR UPDATE SKIP LOCKED</c>, no transaction held while sending), so several instances share the work;
/// a delivered row is deleted at once. A password that cannot be decrypted is replaced by a new credential
/// (<see cref="CredentialReissue"/>), never dropped.
/// </summary>
public sealed partial class OutboxDispatcher(
    IServiceScopeFactory scopes,
    NpgsqlDataSource database,
    IReplySender sender,
    CredentialReissue reissue,
    DispatchWakeUp wakeUp,
    ProvisioningMetrics metrics,
    Brokers.BrokerFleet fleet,
    IOptions<ProvisioningOptions> options,
    TimeProvider clock,
    ILogger<OutboxDispatcher> logger) : DrainingBackgroundService
{
    private readonly ProvisioningOptions _options = options.Value;
    private readonly Backoff _afterFailure = new(TimeSpan.FromMilliseconds(200), options.Value.MaxBackoff);
    private readonly Backoff _redelivery = new(TimeSpan.FromMilliseconds(250), options.Value.MaxBackoff);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var claimed = await DispatchBatchAsync(AbortToken);
                failures = 0;
                if (claimed == 0)
                {
                    await wakeUp.WaitAsync(_options.PollInterval, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                failures++;
                Log.DispatchFailed(logger, e, _afterFailure.Delay(failures).TotalSeconds);
                await _afterFailure.WaitAsync(failures, clock, stoppingToken);
            }
        }
    }

    private async Task<int> DispatchBatchAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ProvisioningDbContext>();
        var batch = await ClaimAsync(db, cancellationToken);
        if (batch.Count == 0)
        {
            return 0;
        }

        // A send still unconfirmed when the lease runs out is abandoned and retried: the rows may be claimed by another
        // instance from then on, and a publish can wait forever on a confirmation lost in a RabbitMQ restart (seen with
        // RabbitMQ.Client 7.2, rabbitmq-dotnet-client#1930), which would stall every reply behind it.
        using var leaseTimeout = new CancellationTokenSource(_options.OutboxLease, clock);
        using var lease = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, leaseTimeout.Token);

        // Replies for one device keep their order; different devices go out concurrently.
        var results = await Task.WhenAll(batch
            .GroupBy(row => (row.TenantId, row.DeviceId))
            .Select(group => SendInOrderAsync(group.OrderBy(row => row.Id).ToList(), lease.Token, cancellationToken)));
        var delivered = results.SelectMany(r => r.Delivered).ToArray();
        var failed = results.SelectMany(r => r.Failed).ToList();
        var unreadable = results.SelectMany(r => r.Unreadable).ToList();

        if (delivered.Length > 0)
        {
            await db.Database.ExecuteSqlAsync($"DELETE FROM outbox WHERE id = ANY({delivered})", CancellationToken.None);
        }

        foreach (var (row, error) in failed)
        {
            var retryAfter = _redelivery.Delay(row.Attempts);
            await db.Database.ExecuteSqlAsync(
                $"UPDATE outbox SET lease_expires_at = NULL, next_attempt_at = statement_timestamp() + {retryAfter}, last_error = {error} WHERE id = {row.Id} AND lease_expires_at = {row.LeaseExpiresAt}",
                CancellationToken.None);
            Log.DeliveryFailed(logger, row.Id, row.MessageType, row.Attempts, error);
            metrics.ReplyDeliveryFailed(row.MessageType);
        }

        if (unreadable.Count > 0)
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            foreach (var (row, reason) in unreadable)
            {
                // A failure here leaves the row leased: it is claimed again once the lease ends, and tried again.
                await reissue.ReissueAsync(connection, row, reason, cancellationToken);
            }
        }

        Log.Delivered(logger, delivered.Length, failed.Count);
        return batch.Count;
    }

    /// <summary>
    /// Claims ready rows, only the oldest reply of each device: a device must receive its replies in the order its
    /// credential changed — also after a crash left rows leased by a dead instance (found by the SIGKILL fault
    /// scenario), and when two instances claim at the same moment, where a lease not yet committed is invisible
    /// (found by the two-instances scenario). A device's next reply goes in the next round, which follows at once.
    /// </summary>
    /// <remarks>
    /// Shaped so that no plan PostgreSQL may pick costs more than a pass over the outbox. The rows are locked inside
    /// <c>ARRAY(…)</c>, evaluated once; written as <c>id IN (SELECT … FOR UPDATE SKIP LOCKED)</c>, the planner was
    /// free to re-run the locking subquery for every row of the outer scan, and it did so whenever autovacuum had
    /// analysed the outbox at a moment it was empty (every reply delivered: the statistics then say "one row"): with
    /// a backlog of a few thousand replies one claim took longer than the 30 s command timeout, again and again, and
    /// replies stopped (found by the SIGTERM fault scenario). "Oldest of its device" is a correlated <c>min(id)</c>,
    /// one probe of <c>ix_outbox_device</c> per row, where the <c>NOT EXISTS</c> anti-join could become a scan of
    /// the whole outbox per row. It is written <c>&lt;=</c> (the same rows as <c>=</c>: no row of a device is below its
    /// minimum) because the planner takes an equality with a subquery for very selective and then prefers reading every
    /// ready row and sorting them to reading in id order and stopping at the batch size.
    /// Lease and retry times are PostgreSQL's (<c>statement_timestamp()</c>), never an instance's wall clock: they are
    /// compared across instances, and an instance whose clock was stepped forward took the live leases of the others
    /// and sent their replies a second time (tests/…/Outbox/OutboxDispatcherTests, docs/fault-suite.md "Clock jumps").
    /// </remarks>
    private async Task<List<OutboxMessage>> ClaimAsync(ProvisioningDbContext db, CancellationToken cancellationToken)
    {
        return await db.Outbox
            .FromSql(
                $"""
                UPDATE outbox SET lease_expires_at = statement_timestamp() + {_options.OutboxLease}, attempts = attempts + 1
                WHERE id = ANY(ARRAY(
                    SELECT o.id FROM outbox o
                    WHERE (NOT o.awaits_broker OR reply_released(o.broker_group, o.change_xid, {fleet.SilenceTimeout}))
                      AND o.next_attempt_at <= statement_timestamp()
                      AND (o.lease_expires_at IS NULL OR o.lease_expires_at < statement_timestamp())
                      AND o.id <= (SELECT min(head.id) FROM outbox head WHERE head.tenant_id = o.tenant_id AND head.device_id = o.device_id)
                    ORDER BY o.id
                    LIMIT {_options.OutboxBatchSize}
                    FOR UPDATE SKIP LOCKED))
                RETURNING *
                """)
            .AsNoTracking()
            .ToListAsync(cancellationToken);
    }

    private async Task<(List<long> Delivered, List<(OutboxMessage Row, string Error)> Failed, List<(OutboxMessage Row, string Reason)> Unreadable)> SendInOrderAsync(
        List<OutboxMessage> rows, CancellationToken lease, CancellationToken cancellationToken)
    {
        var delivered = new List<long>(rows.Count);
        var failed = new List<(OutboxMessage, string)>();
        var unreadable = new List<(OutboxMessage, string)>();
        foreach (var row in rows)
        {
            if (failed.Count > 0 || unreadable.Count > 0)
            {
                failed.Add((row, "an earlier reply to the same device failed"));
                continue;
            }

            try
            {
                // WaitAsync: the lease ends the wait even if the send itself does not observe its token.
                await sender.SendAsync(row, lease).WaitAsync(lease);
                delivered.Add(row.Id);
                metrics.ReplyDelivered(row.MessageType, clock.GetUtcNow() - row.CreatedAt);
            }
            catch (UnreadableSecretException e)
            {
                unreadable.Add((row, e.Message));
            }
            catch (OperationCanceledException) when (lease.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                failed.Add((row, $"RabbitMQ did not confirm the reply within the lease (Provisioning:OutboxLease, {_options.OutboxLease}); abandoned"));
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                failed.Add((row, $"{e.GetType().Name}: {e.Message}"));
            }
        }

        return (delivered, failed, unreadable);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 400, Level = LogLevel.Debug, Message = "Outbox delivered {Delivered} replies ({Failed} to retry)")]
        public static partial void Delivered(ILogger logger, int delivered, int failed);

        [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "Outbox reply {OutboxId} ({MessageType}) failed on attempt {Attempts}: {Error}; it will be retried")]
        public static partial void DeliveryFailed(ILogger logger, long outboxId, string messageType, int attempts, string error);

        [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "Outbox dispatch failed; retrying in {DelaySeconds:0.0} s")]
        public static partial void DispatchFailed(ILogger logger, Exception exception, double delaySeconds);
    }
}
