using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Consumers;

/// <summary>
/// Stops a poison message from crash-looping the worker. A message that takes the process down (rather than throwing)
/// is never acknowledged, so RabbitMQ delivers it again, marked redelivered, after every restart — forever, since
/// classic queues count nothing. So a redelivered message is a suspect: suspects run one at a time, and each start
/// is counted in PostgreSQL before the message is processed; the row goes once the message completed or failed
/// normally. A count that keeps growing means the process died on this very message each time, and past
/// <c>RabbitMq:RedeliveryLimit</c> it is dead-lettered to <c>_error</c> unprocessed. Running suspects one at a time is
/// what makes the blame exact: the messages that were merely in flight beside a poison one are started once more, as
/// suspects, and complete; only the culprit keeps counting. Messages delivered for the first time pay nothing.
/// </summary>
public sealed partial class RedeliveryGuard(IServiceScopeFactory scopes, IOptions<RabbitMqOptions> options, TimeProvider clock, ILogger<RedeliveryGuard> logger) : IDisposable
{
    private readonly SemaphoreSlim _suspects = new(1, 1);

    public IFilter<ConsumeContext> FilterFor(string consumer) => new Filter(this, consumer);

    public void Dispose() => _suspects.Dispose();

    private async Task SendAsync(ConsumeContext context, IPipe<ConsumeContext> next, string consumer)
    {
        if (!context.ReceiveContext.Redelivered || context.MessageId is not { } messageId)
        {
            await next.Send(context);
            return;
        }

        await _suspects.WaitAsync(context.CancellationToken);
        try
        {
            var attempts = await RecordStartAsync(messageId, consumer, context.CancellationToken);
            var limit = options.Value.RedeliveryLimit;
            if (attempts > limit)
            {
                Log.GivingUp(logger, messageId, consumer, attempts - 1);
                await ForgetAsync(messageId, consumer);
                throw new PoisonMessageException(
                    $"Message {messageId} was started {attempts - 1} times after redeliveries and never completed: the worker died on it each time " +
                    $"(RabbitMq:RedeliveryLimit is {limit}). Dead-lettered unprocessed; fix the cause before replaying it.");
            }

            if (attempts > 1)
            {
                Log.Suspect(logger, messageId, consumer, attempts, limit);
            }

            try
            {
                await next.Send(context);
            }
            finally
            {
                await ForgetAsync(messageId, consumer);
            }
        }
        finally
        {
            _suspects.Release();
        }
    }

    /// <summary>Counts this start, committed before processing begins; 0 when the count could not be recorded.</summary>
    private async Task<int> RecordStartAsync(Guid messageId, string consumer, CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ProvisioningDbContext>();
            var now = clock.GetUtcNow();
            var counted = await db.Database.SqlQuery<int>(
                $"""
                INSERT INTO delivery_attempts (message_id, consumer, attempts, last_attempt_at) VALUES ({messageId}, {consumer}, 1, {now})
                ON CONFLICT (message_id, consumer) DO UPDATE SET attempts = delivery_attempts.attempts + 1, last_attempt_at = excluded.last_attempt_at
                RETURNING attempts AS "Value"
                """).ToListAsync(cancellationToken);
            return counted.Single();
        }
        catch (Exception e) when (TransientFaults.IsTransient(e))
        {
            // The message itself will need the database too, and its own retries and dead-lettering apply.
            Log.CountFailed(logger, e, messageId);
            return 0;
        }
    }

    private async Task ForgetAsync(Guid messageId, string consumer)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ProvisioningDbContext>();
            await db.Database.ExecuteSqlAsync($"DELETE FROM delivery_attempts WHERE message_id = {messageId} AND consumer = {consumer}", CancellationToken.None);
        }
        catch (Exception e) when (TransientFaults.IsTransient(e))
        {
            Log.ForgetFailed(logger, e, messageId); // the inbox cleanup prunes it later
        }
    }

    private sealed class Filter(RedeliveryGuard guard, string consumer) : IFilter<ConsumeContext>
    {
        public Task Send(ConsumeContext context, IPipe<ConsumeContext> next) => guard.SendAsync(context, next, consumer);

        public void Probe(ProbeContext context) => context.CreateFilterScope("redeliveryGuard");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 114, Level = LogLevel.Warning, Message = "Message {MessageId} on {Consumer} is redelivered again: a worker stopped or died with it in flight {Attempts} times; processing it alone (start {Attempts} of at most {Limit})")]
        public static partial void Suspect(ILogger logger, Guid messageId, string consumer, int attempts, int limit);

        [LoggerMessage(EventId = 111, Level = LogLevel.Error, Message = "Message {MessageId} on {Consumer} never completed in {Attempts} starts after redeliveries: the worker died on it each time; moving it to _error unprocessed")]
        public static partial void GivingUp(ILogger logger, Guid messageId, string consumer, int attempts);

        [LoggerMessage(EventId = 112, Level = LogLevel.Warning, Message = "Could not count the redelivery of message {MessageId}; processing it uncounted")]
        public static partial void CountFailed(ILogger logger, Exception exception, Guid messageId);

        [LoggerMessage(EventId = 113, Level = LogLevel.Debug, Message = "Could not forget the redelivery count of message {MessageId}; the inbox cleanup removes it later")]
        public static partial void ForgetFailed(ILogger logger, Exception exception, Guid messageId);
    }
}
