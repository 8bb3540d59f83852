using System.Diagnostics;
using MassTransit;
using Provisioning.Contracts;

namespace Provisioning.Worker.Benchmarks;

/// <summary>The result of one run: how many events, how long from the first publish to the last reply, the latencies.</summary>
public sealed record RunResult(string Name, int Events, TimeSpan PublishTime, TimeSpan Elapsed, Stats Latency, int Rejected, int Unexpected)
{
    public double EventsPerSecond => Events / Elapsed.TotalSeconds;

    public double PublishedPerSecond => Events / PublishTime.TotalSeconds;

    /// <summary>The worker's rewrite+reload cycles during the run (from its log), when measured.</summary>
    public Stats? Cycles { get; init; }

    /// <summary>Mosquitto's CPU per reload during the run, in ms, when measured.</summary>
    public double? BrokerCpuPerReloadMs { get; init; }
}

/// <summary>
/// Publishes <c>DeviceRegistered</c> requests (response address + request id, like an upstream app asking for an
/// answer), either as fast as the broker confirms them (bounded in-flight) or at a fixed rate, then waits for every reply.
/// Registration i of a run belongs to <paramref name="tenantOf"/>(i); default: the seeder's one tenant.
/// </summary>
public sealed class LoadGenerator(IBus bus, Uri replyAddress, int maxInFlight, TimeSpan stall, Func<int, string>? tenantOf = null)
{
    public async Task<RunResult> RunAsync(string name, IReadOnlyList<string> deviceIds, double? rate, ReplyTracker tracker, Func<string> diagnostics, CancellationToken cancellationToken)
    {
        using var inFlight = new SemaphoreSlim(maxInFlight);
        var publishes = new List<Task>(deviceIds.Count);
        tracker.Reset();
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < deviceIds.Count; i++)
        {
            if (rate is { } perSecond)
            {
                var due = TimeSpan.FromSeconds(i / perSecond) - Stopwatch.GetElapsedTime(started);
                if (due > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(due, cancellationToken);
                }
            }

            await inFlight.WaitAsync(cancellationToken);
            publishes.Add(PublishAsync(tenantOf?.Invoke(i) ?? Seeder.Tenant, deviceIds[i], tracker, inFlight, cancellationToken));
        }

        await Task.WhenAll(publishes);
        var published = Stopwatch.GetElapsedTime(started);
        await tracker.WaitForAsync(deviceIds.Count, stall, diagnostics, cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started, tracker.LastReplyTimestamp);
        return new RunResult(name, deviceIds.Count, published, elapsed, new Stats(tracker.LatenciesMs), tracker.Rejected, tracker.Unexpected);
    }

    private async Task PublishAsync(string tenantId, string deviceId, ReplyTracker tracker, SemaphoreSlim inFlight, CancellationToken cancellationToken)
    {
        try
        {
            var requestId = NewId.NextGuid();
            tracker.Expect(requestId);
            await bus.Publish(
                new DeviceRegistered { TenantId = tenantId, DeviceId = deviceId, OccurredAt = DateTimeOffset.UtcNow },
                context =>
                {
                    context.RequestId = requestId;
                    context.ResponseAddress = replyAddress;
                },
                cancellationToken);
        }
        finally
        {
            inFlight.Release();
        }
    }
}
