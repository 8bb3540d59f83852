using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Provisioning.Contracts;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// Matches replies to the requests of one run by RequestId: publish→reply latency per event, and the time the
/// last reply arrived. Replies of other runs, and duplicates, are counted apart.
/// </summary>
public sealed class ReplyTracker
{
    private readonly ConcurrentDictionary<Guid, long> _pending = new();
    private readonly ConcurrentBag<double> _latenciesMs = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _completed;
    private int _rejected;
    private int _unexpected;
    private long _lastReply;

    public int Completed => Volatile.Read(ref _completed);

    public int Rejected => Volatile.Read(ref _rejected);

    public int Unexpected => Volatile.Read(ref _unexpected);

    public long LastReplyTimestamp => Interlocked.Read(ref _lastReply);

    public IReadOnlyCollection<double> LatenciesMs => _latenciesMs;

    public void Configure(IReceiveEndpointConfigurator endpoint)
    {
        endpoint.Handler<CredentialsIssued>(context => Arrived(context.RequestId, rejected: false));
        endpoint.Handler<ProvisioningRejected>(context => Arrived(context.RequestId, rejected: true));
        endpoint.Handler<CredentialsRevoked>(context => Arrived(context.RequestId, rejected: false));
    }

    /// <summary>Forgets the previous run (runs are sequential; a late reply of an earlier run counts as unexpected).</summary>
    public void Reset()
    {
        _pending.Clear();
        _latenciesMs.Clear();
        Interlocked.Exchange(ref _completed, 0);
        Interlocked.Exchange(ref _rejected, 0);
        Interlocked.Exchange(ref _unexpected, 0);
    }

    /// <summary>Called just before the request is published; the latency runs from here.</summary>
    public void Expect(Guid requestId) => _pending[requestId] = Stopwatch.GetTimestamp();

    /// <summary>Completes when <paramref name="count"/> replies arrived; fails when none arrived for <paramref name="stall"/>.</summary>
    public async Task WaitForAsync(int count, TimeSpan stall, Func<string> diagnostics, CancellationToken cancellationToken)
    {
        while (Completed < count)
        {
            Task progress;
            lock (_lock)
            {
                progress = _progress.Task;
            }

            if (Completed >= count)
            {
                break;
            }

            var before = Completed;
            var done = await Task.WhenAny(progress, Task.Delay(stall, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
            if (done != progress && Completed == before)
            {
                throw new TimeoutException($"no reply for {stall.TotalSeconds:0} s: {Completed} of {count} arrived, {_pending.Count} pending.\n{diagnostics()}");
            }
        }
    }

    private Task Arrived(Guid? requestId, bool rejected)
    {
        var now = Stopwatch.GetTimestamp();
        if (requestId is not { } id || !_pending.TryRemove(id, out var started))
        {
            Interlocked.Increment(ref _unexpected);
            return Task.CompletedTask;
        }

        _latenciesMs.Add(Stopwatch.GetElapsedTime(started, now).TotalMilliseconds);
        if (rejected)
        {
            Interlocked.Increment(ref _rejected);
        }

        Interlocked.Exchange(ref _lastReply, now);
        Interlocked.Increment(ref _completed);
        TaskCompletionSource progress;
        lock (_lock)
        {
            progress = _progress;
            _progress = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        progress.TrySetResult();
        return Task.CompletedTask;
    }
}
