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
        const int Kills = 4;
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
    /// Stopped three times under load: once with a message certainly in flight (its consumer waits behind a device row
    /// lock the test holds for 2 s), which the stopping worker must finish; once plain; once with a consumer stuck
    /// longer than the half of the shutdown timeout consumers get, which must be returned to its queue, not
    /// dead-lettered, and finished by the next worker.
    /// </summary>
    [Fact]
    public async Task SIGTERM_under_load_drains_in_flight_work_within_the_shutdown_timeout_and_dead_letters_nothing()
    {
        // Given
        var shutdownTimeout = TimeSpan.FromSeconds(10);
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        world.WorkerSettings["Provisioning__ShutdownTimeout"] = "00:00:10";
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "sigterm", devices: 80, TimeSpan.FromMilliseconds(10), seed: 5004).Start();
        TimeSpan?[] heldFor = [TimeSpan.FromSeconds(2), null, (shutdownTimeout / 2) + TimeSpan.FromSeconds(2)];

        for (var i = 0; i < heldFor.Length; i++)
        {
            // When
            await load.WaitForPublishedAsync(load.Published.Count + 80);
            var worker = world.Workers.Single();
            PublishedMessage? held = null;
            Task<(int ExitCode, TimeSpan Took)> stopping;
            if (heldFor[i] is { } hold)
            {
                await using var blocker = await DeviceRowBlocker.HoldAsync(world.ConnectionString, "sigterm", $"held{i}");
                held = await load.PublishAsync(registration: true, "sigterm", $"held{i}");
                await blocker.WaitUntilSomeoneWaitsAsync();
                stopping = world.StopWorkerAsync(worker, shutdownTimeout + TimeSpan.FromSeconds(15));
                await Task.Delay(hold);
            }
            else
            {
                stopping = world.StopWorkerAsync(worker, shutdownTimeout + TimeSpan.FromSeconds(15));
            }

            var (exitCode, took) = await stopping;
            var finished = held is not null && Finished(worker, held.Id);
            output.WriteLine($"stop {i + 1}: exit {exitCode} after {took.TotalSeconds:0.0} s{(held is null ? string.Empty : $"; the held message was finished by the stopping worker: {finished}")}");

            // Then: a clean exit within the host's shutdown timeout, no claimed reply left behind
            Assert.True(exitCode == 0, $"exit code {exitCode}\n{world.Diagnostics()}");
            // (measured from the signal to the process's end: runtime teardown included, hence a little slack)
            Assert.True(took < shutdownTimeout + TimeSpan.FromSeconds(2), $"the worker took {took.TotalSeconds:0.0} s to stop");
            Assert.Equal(0L, await LeasedRepliesAsync(world));
            if (held is not null && heldFor[i] < shutdownTimeout / 2)
            {
                // Held for less than the consumers' half of the timeout: finished by the stopping worker, not abandoned
                // to a redelivery. Held longer, it is cancelled and returned to its queue — or finished, when the bus
                // began its stop late (it stops after the dispatcher and the projection): either way not dead-lettered,
                // which the checker below verifies; which one happened is printed above.
                Assert.True(finished, $"the message in flight at SIGTERM ({held.Id}), held {heldFor[i]}, was not finished by the stopping worker\n{world.Diagnostics()}");
            }

            await world.StartWorkerAsync();
        }

        await load.WaitForPublishedAsync(load.Published.Count + 100);
        await load.StopAsync();

        // and nothing was dead-lettered (the checker allows none), not even the message cancelled in the third stop
        await InvariantChecker.CheckAsync(world, "SIGTERM under load", heldFor.Length, load.Published, clock.Elapsed);
        Assert.DoesNotContain("S-FAULT", world.AllLogs(), StringComparison.Ordinal);
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
        await Eventually.TrueAsync(
            async () =>
            {
                if (world.Workers.Single() is { HasExited: true } dead)
                {
                    crashes++;
                    // HasExited can turn true before the last lines are read from its pipes; the wait drains them
                    await dead.WaitForExitAsync(CancellationToken.None);
                    Assert.Contains($"poison message {poison}", dead.Stderr, StringComparison.Ordinal);
                    Assert.True(crashes <= Limit + 1, $"the worker died {crashes} times on the poison message; the guard should have stopped it after {Limit + 1}\n{world.Diagnostics()}");
                    await world.StartWorkerAsync(waitUntilReady: false);
                }

                return await IsDeadLetteredAsync(world, poison);
            },
            TimeSpan.FromSeconds(120),
            "the poison message was not dead-lettered",
            () => $"{crashes} crashes\n{world.Diagnostics()}");

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
        // On a private PostgreSQL: two instances under load hold up to twice the connections of one, and the shared
        // server (100 connections) also serves other engineers' tests.
        await using var world = await FaultWorld.StartAsync(endpoints, output, postgres: await PrivatePostgres.StartAsync());
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

    /// <summary>Replies claimed by a dispatcher and not yet sent or given back.</summary>
    private static async Task<long> LeasedRepliesAsync(FaultWorld world)
    {
        await using var connection = new Npgsql.NpgsqlConnection(world.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM outbox WHERE lease_expires_at > now()", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The worker logged the message as consumed (the line is written after the transaction committed).</summary>
    private static bool Finished(WorkerProcess worker, Guid messageId) =>
        worker.Stdout.Split('\n').Any(line => line.Contains("Consumed Device", StringComparison.Ordinal) && line.Contains(messageId.ToString(), StringComparison.Ordinal));
}
