using System.Diagnostics;
using System.Net;
using Npgsql;
using Provisioning.Worker.Cli;
using Provisioning.Worker.DeadLetters;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using RabbitMQ.Client;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// RabbitMQ stops taking what the worker sends without closing anything: the path to it black-holed
/// (<see cref="TcpProxy.BlackHole"/>: connections open and silent), or the node blocking its publishers under a memory
/// alarm (<c>connection.blocked</c>). Nothing may wait on it for ever: the worker says so on <c>/health/ready</c>, its
/// replies wait in the outbox and go out once the broker takes them again, without a restart; the operator's replay
/// tool stops with a reason and an exit code.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class RabbitMqHangFaultTests(ServiceEndpoints endpoints, ITestOutputHelper output)
{
    [Fact]
    public async Task RabbitMQ_black_holed_while_the_dispatcher_publishes_and_the_consumers_hold_messages_is_noticed_and_recovers_without_a_restart()
    {
        // Given: the worker reaches RabbitMQ only through the proxy (consumers and dispatcher share its connection); the
        // upstream app publishes and collects replies directly, so messages keep arriving while the worker's path is silent.
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        await using var proxy = TcpProxy.Start(world.AmqpUri.Host, world.AmqpUri.Port);
        world.WorkerSettings["RabbitMq__Uri"] = new UriBuilder(world.AmqpUri) { Host = "127.0.0.1", Port = proxy.Port }.Uri.ToString();
        var worker = await world.StartWorkerAsync();
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        await using var load = new LoadGenerator(world.Bus, "mqhole", devices: 40, TimeSpan.FromMilliseconds(20), seed: 8101).Start();
        await load.WaitForPublishedAsync(60);

        // When
        proxy.BlackHole();
        var hole = Stopwatch.StartNew();

        // Then: not ready, naming the bus, within the heartbeat's bound (RabbitMq:Heartbeat, 5 s: a few missed beats, then the bus reports its endpoints faulted)
        var (status, body) = await WorkerHttp.PollAsync(address, "/health/ready", (s, b) => s == HttpStatusCode.ServiceUnavailable && WorkerHttp.Failing(b).Contains("rabbitmq"), _blackHoleLasts);
        var unready = hole.Elapsed;
        output.WriteLine($"/health/ready {(int)status} after {unready.TotalSeconds:0.0} s of black hole: {body}");
        Assert.True(status == HttpStatusCode.ServiceUnavailable && WorkerHttp.Failing(body).Contains("rabbitmq"), $"/health/ready did not name the bus within {_blackHoleLasts.TotalSeconds} s of black hole: {(int)status} {body}\n{world.Diagnostics()}");
        Assert.True(unready < TimeSpan.FromSeconds(30), $"/health/ready took {unready.TotalSeconds:0.0} s to report RabbitMQ black-holed");

        // and messages keep arriving meanwhile, for the worker to take once the path carries again
        var before = load.Published.Count;
        while (hole.Elapsed < _blackHoleLasts)
        {
            await Task.Delay(200);
        }

        output.WriteLine($"{load.Published.Count - before} messages published during the black hole; {world.Replies.All.Count} replies so far");
        proxy.Resume();
        output.WriteLine($"forwarding again after {hole.Elapsed.TotalSeconds:0.0} s; {proxy.Accepted} connections through the proxy");
        (status, body) = await WorkerHttp.PollAsync(address, "/health/ready", (s, _) => s == HttpStatusCode.OK, TimeSpan.FromSeconds(90));
        output.WriteLine($"/health/ready {(int)status} after {hole.Elapsed.TotalSeconds:0.0} s");
        Assert.True(status == HttpStatusCode.OK, $"/health/ready did not recover: {body}\n{world.Diagnostics()}");
        await load.WaitForPublishedAsync(load.Published.Count + 40);
        await load.StopAsync();

        // and nothing was dead-lettered, lost or doubled, by the same worker process
        Assert.Same(worker, Assert.Single(world.Workers));
        Assert.False(worker.HasExited);
        await InvariantChecker.CheckAsync(world, "RabbitMQ black-holed (consuming, publishing)", 1, load.Published, clock.Elapsed);
    }

    [Fact]
    public async Task RabbitMQ_memory_alarm_holds_the_replies_until_it_clears_and_the_replay_tool_reports_the_block()
    {
        // Given: a private node (the alarm blocks every publisher on the node), replies held back by a Mosquitto outage
        // so that a backlog is released while the node blocks, and a dead letter for the operator's tool
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output, rabbitMq: await PrivateRabbitMq.StartAsync());
        await SeedDeadLetterAsync(world.AmqpUri);
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "mqalarm", devices: 40, TimeSpan.FromMilliseconds(20), seed: 8102).Start();
        await load.WaitForPublishedAsync(40);
        await world.Broker.StopAsync();
        await Eventually.TrueAsync(async () => await OutboxAsync(world, Provisioning.Worker.Outbox.ReplyRelease.HeldByBrokers) >= 30, TimeSpan.FromSeconds(60), $"no reply was held back while Mosquitto was down\n{world.Diagnostics()}");

        // When: the alarm goes off, then Mosquitto comes back and the backlog is released into the blocked connection
        await world.RabbitMq.SetMemoryHighWatermarkAsync(0.0000001);
        var alarm = Stopwatch.StartNew();
        try
        {
            await world.Broker.StartAgainAsync();
            await Eventually.TrueAsync(async () => await OutboxAsync(world, Provisioning.Worker.Outbox.ReplyRelease.HeldByBrokers) == 0, TimeSpan.FromSeconds(30), $"the replies were not released after Mosquitto came back\n{world.Diagnostics()}");
            var replies = world.Replies.All.Count;

            // Then: the operator's replay stops with the reason and its exit code instead of hanging
            var replay = Stopwatch.StartNew();
            var result = await WorkerProcess.RunToExitAsync(["dead-letters", "replay", "--queue", SeedQueue + DeadLetterQueues.ErrorSuffix], world.WorkerEnvironment(), timeout: TimeSpan.FromSeconds(90));
            output.WriteLine($"dead-letters replay during the alarm: exit {result.ExitCode} after {replay.Elapsed.TotalSeconds:0.0} s\n{result.Stderr}");
            Assert.True(result.ExitCode == CommandExitCodes.BrokerBlocked, $"dead-letters replay against a blocked node: {result}");
            Assert.Contains("blocks publishers", result.Stderr, StringComparison.Ordinal);
            Assert.Contains(BrokerConnector.Describe(world.AmqpUri), result.Stderr, StringComparison.Ordinal);
            Assert.True(replay.Elapsed < TimeSpan.FromSeconds(45), $"dead-letters replay took {replay.Elapsed.TotalSeconds:0.0} s to report the block");
            // The dead letter is not acknowledged: the blocked node holds it as unacknowledged until it reads the tool's
            // closed connection, after the alarm, and then puts it back.

            // and the replies wait: none arrives, none is dead-lettered, they stay in the outbox
            while (alarm.Elapsed < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(200);
            }

            var waiting = await OutboxAsync(world, "true");
            output.WriteLine($"after {alarm.Elapsed.TotalSeconds:0.0} s of alarm: {waiting} replies in the outbox, {world.Replies.All.Count - replies} arrived meanwhile, {load.FailedAttempts} upstream publish attempts failed");
            Assert.True(waiting > 0, "no reply waited in the outbox during the alarm");
            Assert.Equal(0, await DeadLetterReplay.CountAsync(world));
        }
        catch
        {
            // The scenario's own bus and load generator are blocked too: clear the alarm so they stop and report.
            await world.RabbitMq.SetMemoryHighWatermarkAsync(0.4);
            throw;
        }

        // and go out once it clears, without a restart
        await world.RabbitMq.SetMemoryHighWatermarkAsync(0.4);
        await Eventually.TrueAsync(async () => await OutboxAsync(world, "true") == 0, TimeSpan.FromSeconds(60), $"the outbox did not drain after the alarm cleared\n{world.Diagnostics()}");
        output.WriteLine($"outbox drained {alarm.Elapsed.TotalSeconds:0.0} s after the alarm went off");
        await load.WaitForPublishedAsync(load.Published.Count + 40);
        await load.StopAsync();
        Assert.Single(world.Workers);
        await InvariantChecker.CheckAsync(world, "RabbitMQ memory alarm (publishers blocked), replay tool refused", 1, load.Published, clock.Elapsed);

        // and the replay tool works again
        var after = await WorkerProcess.RunToExitAsync(["dead-letters", "replay", "--queue", SeedQueue + DeadLetterQueues.ErrorSuffix], world.WorkerEnvironment());
        Assert.True(after.ExitCode == CommandExitCodes.Success, $"dead-letters replay after the alarm: {after}");
        Assert.Equal(0u, await world.Queues.CountAsync(SeedQueue + DeadLetterQueues.ErrorSuffix));
        // Once, or twice if the blocked copy was read when the alarm cleared (the inbox absorbs a duplicate): never lost.
        Assert.InRange(await world.Queues.CountAsync(SeedQueue) ?? 0, 1u, 2u);
    }

    /// <summary>Longer than the heartbeat's bound, so the worker must notice; short enough for the scenario to stay under a minute.</summary>
    private static readonly TimeSpan _blackHoleLasts = TimeSpan.FromSeconds(40);

    /// <summary>A queue of the test's own (not the worker's): its dead letter is never consumed by the worker.</summary>
    private const string SeedQueue = "hang-replay-target";

    /// <summary>A dead letter as MassTransit leaves one: in <c>{queue}_error</c>, naming its queue in the fault headers.</summary>
    private static async Task SeedDeadLetterAsync(Uri amqpUri)
    {
        var factory = new ConnectionFactory { Uri = amqpUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync(SeedQueue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueueDeclareAsync(SeedQueue + DeadLetterQueues.ErrorSuffix, durable: true, exclusive: false, autoDelete: false);
        var properties = new BasicProperties
        {
            MessageId = Guid.NewGuid().ToString(),
            Persistent = true,
            Headers = new Dictionary<string, object?>
            {
                ["MT-Reason"] = "fault",
                ["MT-Fault-InputAddress"] = $"rabbitmq://127.0.0.1/{SeedQueue}",
                ["MT-Fault-ExceptionType"] = "System.TimeoutException",
                ["MT-Fault-Message"] = "seeded by the memory-alarm scenario",
            },
        };
        await channel.BasicPublishAsync(string.Empty, SeedQueue + DeadLetterQueues.ErrorSuffix, mandatory: true, properties, "{}"u8.ToArray());
    }

    private static async Task<long> OutboxAsync(FaultWorld world, string where)
    {
        await using var connection = new NpgsqlConnection(world.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM outbox WHERE {where}", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
