using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Persistence;
using Provisioning.Worker.Secrets;

namespace Provisioning.Worker.Devices;

/// <summary>
/// Group commit for the consumers: the events that arrive while a transaction is running go together into the next
/// one (<see cref="LifecycleTransaction"/>). Each consumer still waits for its own outcome, so a message is acknowledged
/// only after its effect is committed, and a failure reaches only the messages it concerns: a batch that fails for a
/// non-transient reason is replayed one event per transaction. At low rates a batch is a single event: no added wait.
/// </summary>
public sealed partial class GroupCommit(
    NpgsqlDataSource database,
    IOptions<MosquittoOptions> mosquitto,
    IDeviceTopics topics,
    DeviceChangeSignal deviceChanges,
    DispatchWakeUp dispatchWakeUp,
    ReplySecrets secrets,
    Brokers.BrokerFleet fleet,
    Brokers.TenantPlacements placements,
    TimeProvider clock,
    ILogger<GroupCommit> logger) : BackgroundService
{
    /// <summary>Bounds one transaction's size (and how long its row locks are held).</summary>
    public const int MaxBatch = 500;

    private readonly LifecycleTransaction _transaction = new(
        new LifecycleRules(mosquitto.Value.BrokerHost, mosquitto.Value.BrokerPort), topics, mosquitto.Value.HashIterations, secrets, fleet, placements, clock);

    private readonly Channel<LifecycleRequest> _requests = Channel.CreateUnbounded<LifecycleRequest>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Applies <paramref name="e"/> in the next transaction; returns its own outcome once that transaction committed.</summary>
    public async Task<LifecycleOutcome> SubmitAsync(DeviceEvent e, CancellationToken cancellationToken)
    {
        var request = new LifecycleRequest(e);
        if (!_requests.Writer.TryWrite(request))
        {
            throw new OperationCanceledException("The worker is stopping; the message will be redelivered.");
        }

        // If this consumer gives up (shutdown), the batch may still commit: the redelivery then meets the inbox row.
        return await request.Completion.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<LifecycleRequest>(MaxBatch);
        try
        {
            while (await _requests.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _requests.Reader.TryRead(out var request))
                {
                    batch.Add(request);
                }

                await RunAsync(batch, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: fail what is left, its messages are redelivered.
        }
        finally
        {
            _requests.Writer.TryComplete();
            foreach (var request in batch.Concat(Drain()))
            {
                request.Completion.TrySetCanceled(stoppingToken);
            }
        }
    }

    private async Task RunAsync(List<LifecycleRequest> batch, CancellationToken cancellationToken)
    {
        try
        {
            Complete(batch, await ApplyAsync(batch, cancellationToken));
        }
        catch (Exception e) when (batch.Count > 1 && !TransientFaults.IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            Log.BatchFailed(logger, e, batch.Count);
            foreach (var request in batch)
            {
                try
                {
                    Complete([request], await ApplyAsync([request], cancellationToken));
                }
                catch (Exception single)
                {
                    request.Completion.TrySetException(single);
                }
            }
        }
        catch (Exception e)
        {
            foreach (var request in batch)
            {
                request.Completion.TrySetException(e);
            }
        }
    }

    private async Task<LifecycleOutcome[]> ApplyAsync(IReadOnlyList<LifecycleRequest> batch, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await _transaction.ApplyAsync(connection, batch.Select(r => r.Event).ToList(), cancellationToken);
    }

    private void Complete(IReadOnlyList<LifecycleRequest> batch, LifecycleOutcome[] outcomes)
    {
        if (outcomes.Any(o => o is LifecycleOutcome.Issued or LifecycleOutcome.Revoked))
        {
            deviceChanges.Notify();
        }

        if (outcomes.Any(o => o is LifecycleOutcome.Rejected))
        {
            dispatchWakeUp.Notify();
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Completion.TrySetResult(outcomes[i]);
        }
    }

    private IEnumerable<LifecycleRequest> Drain()
    {
        while (_requests.Reader.TryRead(out var request))
        {
            yield return request;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "A batch of {Count} device events failed; applying them one by one")]
        public static partial void BatchFailed(ILogger logger, Exception exception, int count);
    }
}

/// <summary>A lifecycle event waiting for its transaction, and the consumer waiting for its outcome.</summary>
internal sealed class LifecycleRequest(DeviceEvent e)
{
    public DeviceEvent Event { get; } = e;

    public TaskCompletionSource<LifecycleOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
