using System.Diagnostics;
using MassTransit;
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

    /// <summary>
    /// The poison message kills the process inside the consumer (a startup hook loaded into the worker for this test,
    /// see tests/Provisioning.Worker.FaultHooks), so it is never acknowledged and comes back after every restart.
    /// The test plays the supervisor (systemd, Kubernetes) that restarts the worker each time.
    /// </summary>
    [Fact]
    public async Task A_poison_message_that_kills_the_worker_is_dead_lettered_after_the_redelivery_limit_and_nothing_else_is()
    {
        // Given
        const int Limit = 2;
        var clock = Stopwatch.StartNew();
        var poison = NewId.NextGuid();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        world.WorkerSettings["DOTNET_STARTUP_HOOKS"] = Path.Combine(AppContext.BaseDirectory, "Provisioning.Worker.FaultHooks.dll");
        world.WorkerSettings["FAULT_HOOK_CRASH_ON_MESSAGE_ID"] = poison.ToString();
        world.WorkerSettings["RabbitMq__RedeliveryLimit"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "poison", devices: 50, TimeSpan.FromMilliseconds(25), seed: 5003).Start();
        await load.WaitForPublishedAsync(40);

        // When
        await load.PublishAsync(registration: true, "poison", "the-poison", poison);
        var crashes = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!await IsDeadLetteredAsync(world, poison))
        {
            if (world.Workers.Single() is { HasExited: true } dead)
            {
                crashes++;
                Assert.Contains($"poison message {poison}", dead.Stderr, StringComparison.Ordinal);
                Assert.True(crashes <= Limit + 1, $"the worker died {crashes} times on the poison message; the guard should have stopped it after {Limit + 1}\n{world.Diagnostics()}");
                await world.StartWorkerAsync(waitUntilReady: false);
            }

            Assert.True(DateTime.UtcNow < deadline, $"the poison message was not dead-lettered within 120 s ({crashes} crashes)\n{world.Diagnostics()}");
            await Task.Delay(100);
        }

        await world.WaitUntilReadyAsync(world.Workers.Single());
        await load.WaitForPublishedAsync(load.Published.Count + 60);
        await load.StopAsync();

        // Then: the first delivery and each allowed redelivery took the process down once, then it was set aside
        Assert.Equal(Limit + 1, crashes);
        var deadLetter = Assert.Single(await world.Queues.PeekAllAsync("device-registered_error"));
        Assert.Contains(nameof(Consumers.PoisonMessageException), deadLetter.Header("MT-Fault-ExceptionType"), StringComparison.Ordinal);
        await InvariantChecker.CheckAsync(
            world,
            "poison message that kills the process",
            crashes,
            load.Published,
            clock.Elapsed,
            new CheckOptions { MayBeDeadLettered = new HashSet<Guid> { poison } });
        Assert.False(world.Workers.Single().HasExited);
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

    private static async Task<bool> IsDeadLetteredAsync(FaultWorld world, Guid messageId) =>
        (await world.Queues.PeekAllAsync("device-registered_error")).Any(m => m.MessageId == messageId);
}
