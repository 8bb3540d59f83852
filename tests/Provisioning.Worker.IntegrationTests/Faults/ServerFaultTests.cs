using System.Diagnostics;
using Npgsql;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// The servers the worker depends on go away under load and come back. Each scenario runs the server it stops on a
/// private instance: the shared ones serve other tests.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class ServerFaultTests(ServiceEndpoints endpoints, ITestOutputHelper output)
{
    [Fact]
    public async Task PostgreSQL_restarted_twice_under_load_costs_retries_and_no_message()
    {
        // Given
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output, postgres: await PrivatePostgres.StartAsync());
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "pgrestart", devices: 60, TimeSpan.FromMilliseconds(10), seed: 6001).Start();
        await load.WaitForPublishedAsync(100);

        // When: fast restarts (every session terminated with 57P01, then connection refused for a moment)
        await world.Postgres.RestartAsync();
        await load.WaitForPublishedAsync(load.Published.Count + 150);
        await world.Postgres.RestartAsync();
        await load.WaitForPublishedAsync(load.Published.Count + 100);
        await load.StopAsync();

        // Then: within the retry window, so nothing was dead-lettered
        await InvariantChecker.CheckAsync(world, "PostgreSQL restarted", 2, load.Published, clock.Elapsed);
    }

    [Fact]
    public async Task PostgreSQL_away_longer_than_the_retry_window_dead_letters_and_a_replay_heals_everything()
    {
        // Given
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output, postgres: await PrivatePostgres.StartAsync());
        // The default retry policy (5 retries, 200 ms to 5 s apart) spends about 7 s; the outage lasts twice that.
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "pgdown", devices: 40, TimeSpan.FromMilliseconds(40), seed: 6002).Start();
        await load.WaitForPublishedAsync(40);

        // When
        await world.Postgres.StopServerAsync();
        var outage = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => await DeadLetterReplay.CountAsync(world) > 0, TimeSpan.FromSeconds(60), "no message reached an _error queue while PostgreSQL was down");
        while (outage.Elapsed < TimeSpan.FromSeconds(14))
        {
            await Task.Delay(200);
        }

        await world.Postgres.StartServerAsync();
        await load.WaitForPublishedAsync(load.Published.Count + 40);
        await load.StopAsync();
        var deadLettered = await DeadLetterReplay.CountAsync(world);
        output.WriteLine($"{deadLettered} messages in the _error queues after an outage of {outage.Elapsed.TotalSeconds:0.0} s");
        Assert.True(deadLettered > 0);

        // Then: an operator's replay (message id and body kept, fault headers dropped) heals every one of them
        var replayed = await DeadLetterReplay.UntilHealedAsync(world, load.Published);
        output.WriteLine($"replayed {replayed} messages");
        await InvariantChecker.CheckAsync(world, "PostgreSQL away longer than the retry window, then replay", 1, load.Published, clock.Elapsed);
        foreach (var queue in InvariantChecker.ErrorQueues)
        {
            Assert.Equal(0u, await world.Queues.CountAsync(queue) ?? 0);
        }
    }

    [Fact]
    public async Task RabbitMQ_restarted_while_the_worker_consumes_and_while_the_dispatcher_publishes_loses_nothing()
    {
        // Given
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output, rabbitMq: await PrivateRabbitMq.StartAsync());
        output.WriteLine($"private node up at {clock.Elapsed.TotalSeconds:0.0} s");
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "mqrestart", devices: 60, TimeSpan.FromMilliseconds(10), seed: 6003).Start();
        await load.WaitForPublishedAsync(150);

        // When: restarted while messages stream in and are consumed
        await world.RabbitMq.RestartAsync();
        output.WriteLine($"restart 1 done at {clock.Elapsed.TotalSeconds:0.0} s; {load.FailedAttempts} publish attempts failed meanwhile");

        // and again while the dispatcher sends a backlog: replies held back while Mosquitto is away are released the
        // moment it is back, and RabbitMQ goes down right then. The worker must be consuming again first (its
        // reconnect backs off up to 30 s), or Mosquitto's outage passes unnoticed and nothing is held back.
        await load.WaitForPublishedAsync(load.Published.Count + 50);
        var sinceRestart = load.Published[^1].Id;
        await Eventually.TrueAsync(() => world.Replies.All.Any(r => r.InitiatorId == sinceRestart), TimeSpan.FromSeconds(90), "the worker did not answer a message published after the restart");
        await world.Broker.StopAsync();
        var heldBack = 0L;
        await Eventually.TrueAsync(async () => (heldBack = await HeldBackRepliesAsync(world)) >= 50, TimeSpan.FromSeconds(60), "no reply was held back while Mosquitto was down");
        await world.Broker.StartAgainAsync();
        var repliesBefore = world.Replies.All.Count;
        await world.RabbitMq.RestartAsync();
        output.WriteLine($"restart 2 as {heldBack} held-back replies were released ({repliesBefore} received before), done at {clock.Elapsed.TotalSeconds:0.0} s");
        await load.WaitForPublishedAsync(load.Published.Count + 100);
        await load.StopAsync();

        // Then
        await InvariantChecker.CheckAsync(world, "RabbitMQ restarted (consuming, publishing)", 2, load.Published, clock.Elapsed);
    }

    private static async Task<long> HeldBackRepliesAsync(FaultWorld world)
    {
        await using var connection = new NpgsqlConnection(world.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM outbox WHERE {Provisioning.Worker.Outbox.ReplyRelease.HeldByBrokers}", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
