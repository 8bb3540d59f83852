using System.Diagnostics;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>Faults of the worker process itself: killed, stopped under load, run twice.</summary>
[Collection(FaultsCollection.Name)]
public sealed class WorkerProcessFaultTests(ServiceEndpoints endpoints, ITestOutputHelper output)
{
    [Fact]
    public async Task A_worker_killed_hard_at_random_points_several_times_loses_nothing()
    {
        // Given
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "kill", devices: 80, TimeSpan.FromMilliseconds(8), seed).Start();
        await load.WaitForPublishedAsync(50);

        // When: SIGKILL at random moments — mid-consume, mid-rewrite, mid-dispatch, and during start-up itself
        const int Kills = 5;
        for (var i = 0; i < Kills; i++)
        {
            var worker = world.Workers.Single();
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(200, 2500)));
            await world.KillAsync(worker);
            output.WriteLine($"kill {i + 1} after {load.Published.Count} messages, {world.Replies.All.Count} replies");
            await world.StartWorkerAsync(waitUntilReady: random.Next(3) > 0);
        }

        await world.WaitUntilReadyAsync(world.Workers.Single());
        await load.StopAsync();

        // Then
        await InvariantChecker.CheckAsync(world, "worker killed (SIGKILL) at random points", Kills, load.Published, clock.Elapsed);
    }

    [Fact]
    public async Task Two_worker_instances_consuming_the_same_queues_at_once_have_one_effect_per_message()
    {
        // Given
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        await Task.WhenAll(world.StartWorkerAsync(), world.StartWorkerAsync());

        // When: both consume, both project (one at a time, by the advisory lock), both dispatch
        await using var load = new LoadGenerator(world.Bus, "twice", devices: 60, TimeSpan.FromMilliseconds(6), seed: 5002).Start();
        await load.WaitForPublishedAsync(300, TimeSpan.FromSeconds(90));
        await load.StopAsync();

        // Then
        Assert.All(world.Workers, w => Assert.Contains("Consumed Device", w.Stdout, StringComparison.Ordinal));
        await InvariantChecker.CheckAsync(world, "two worker instances at once", 1, load.Published, clock.Elapsed);
    }
}
