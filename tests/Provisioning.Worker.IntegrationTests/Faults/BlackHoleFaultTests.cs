using System.Diagnostics;
using System.Net;
using Npgsql;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// A server the worker depends on stops answering without closing anything (<see cref="TcpProxy.BlackHole"/>): every
/// connection stays open and silent, as behind a network path that drops packets or in front of a hung server. Nothing
/// may wait on it for ever: what needs the server fails within a timeout, is retried, and the worker recovers by
/// itself once the path carries again.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class BlackHoleFaultTests(ServiceEndpoints endpoints, ITestOutputHelper output)
{
    [Fact]
    public async Task PostgreSQL_black_holed_longer_than_every_timeout_dead_letters_instead_of_hanging_and_recovers_without_a_restart()
    {
        // Given: the worker reaches PostgreSQL only through the proxy (consumers, projection, dispatcher, health checks)
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        var direct = new NpgsqlConnectionStringBuilder(world.ConnectionString);
        await using var proxy = TcpProxy.Start(direct.Host!, direct.Port);
        // A statement's timeout as short as the scenario's own statements allow (30 s by default), and two retries instead
        // of five: the consumers' attempts all wait behind one batch at a time, so the default settings take minutes to
        // dead-letter. The connect timeout is the worker's default (WorkerConnectionString).
        world.WorkerSettings["ConnectionStrings__Provisioning"] = new NpgsqlConnectionStringBuilder(world.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, CommandTimeout = 3 }.ConnectionString;
        world.WorkerSettings["RabbitMq__RetryLimit"] = "2";
        var worker = await world.StartWorkerAsync();
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        await using var load = new LoadGenerator(world.Bus, "pghole", devices: 40, TimeSpan.FromMilliseconds(40), seed: 8001).Start();
        await load.WaitForPublishedAsync(40);

        // When
        proxy.BlackHole();
        var hole = Stopwatch.StartNew();

        // Then: not ready, naming PostgreSQL, within the check's timeout (3 s by default) and the time to answer
        var (status, body) = await WorkerHttp.PollAsync(address, "/health/ready", (s, _) => s == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
        var unready = hole.Elapsed;
        output.WriteLine($"/health/ready {(int)status} after {unready.TotalSeconds:0.0} s of black hole: {body}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("postgresql", WorkerHttp.Failing(body));
        Assert.True(unready < TimeSpan.FromSeconds(6), $"/health/ready took {unready.TotalSeconds:0.0} s to report PostgreSQL black-holed");

        // and the messages are retried, then dead-lettered: no consumer waits on a read for ever
        await Eventually.TrueAsync(
            async () => await DeadLetterReplay.CountAsync(world) > 0,
            _blackHoleLasts - hole.Elapsed,
            $"no message reached an _error queue within {_blackHoleLasts.TotalSeconds} s of black hole: 3 attempts of at most command + connect + cancellation timeouts each\n{world.Diagnostics()}");
        output.WriteLine($"first dead letter after {hole.Elapsed.TotalSeconds:0.0} s of black hole");
        while (hole.Elapsed < _blackHoleLasts)
        {
            await Task.Delay(200);
        }

        proxy.Resume();
        output.WriteLine($"forwarding again after {hole.Elapsed.TotalSeconds:0.0} s; {proxy.Accepted} connections through the proxy");
        await load.WaitForPublishedAsync(load.Published.Count + 40);
        await load.StopAsync();
        Assert.Same(worker, Assert.Single(world.Workers));
        Assert.False(worker.HasExited);
        (status, body) = await WorkerHttp.PollAsync(address, "/health/ready", (s, _) => s == HttpStatusCode.OK, TimeSpan.FromSeconds(60));
        Assert.True(status == HttpStatusCode.OK, $"/health/ready did not recover: {body}");

        // and the operator's replay heals every dead letter
        var replayed = await DeadLetterReplay.UntilHealedAsync(world, load.Published);
        output.WriteLine($"replayed {replayed} messages");
        await InvariantChecker.CheckAsync(world, "PostgreSQL black-holed longer than every timeout, then replay", 1, load.Published, clock.Elapsed);
        foreach (var queue in InvariantChecker.ErrorQueues)
        {
            Assert.Equal(0u, await world.Queues.CountAsync(queue) ?? 0);
        }
    }

    /// <summary>Longer than every timeout on the way to PostgreSQL (connect 5 s, command 3 s, cancellation 2 s) and the retries.</summary>
    private static readonly TimeSpan _blackHoleLasts = TimeSpan.FromSeconds(45);
}
