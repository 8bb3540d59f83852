using System.Text;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using RabbitMQ.Client;

namespace Provisioning.Worker.IntegrationTests.DeadLetters;

/// <summary>
/// <c>dead-letters list|replay|purge</c> run as the worker process against a real RabbitMQ, on dead-letter queues
/// filled the way MassTransit fills them. The queues are read back with plain RabbitMQ.Client.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class DeadLettersCommandTests(ServiceEndpoints endpoints)
{
    private const string Source = TestQueues.Source;
    private const string Error = TestQueues.Error;

    [Fact]
    public async Task List_shows_each_message_with_its_fault_type_and_device_and_leaves_the_queue_as_it_was()
    {
        // Given
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Source, Error);
        var ids = await queues.DeadLetterAsync(3);
        // A body that never parsed: MassTransit records no consumer and no message type for it.
        var unparsed = queues.FaultHeaders();
        unparsed.Remove("MT-Fault-MessageType");
        unparsed.Remove("MT-Fault-ConsumerType");
        await queues.PublishRawAsync(Error, new BasicProperties { MessageId = "not-json-1", ContentType = "application/vnd.masstransit+json", Headers = unparsed }, Encoding.UTF8.GetBytes("{ not json"));

        // When
        var result = await RunAsync(vhost, "list", "--queue", Error);

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"{Error} on 127.0.0.1:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("4 messages", result.Stdout, StringComparison.Ordinal);
        var blocks = result.Stdout.Split("\n\n")[1..];
        Assert.Equal(4, blocks.Length);
        for (var i = 0; i < 3; i++)
        {
            Assert.StartsWith($"#{i + 1} ", blocks[i], StringComparison.Ordinal);
            Assert.Contains(ids[i], blocks[i], StringComparison.Ordinal);
            Assert.Contains("type         DeviceRegistered", blocks[i], StringComparison.Ordinal);
            Assert.Contains($"device       tenant acme, device d{i:D4}", blocks[i], StringComparison.Ordinal);
            Assert.Contains($"fault        {TestQueues.FaultType}: {TestQueues.FaultMessage}", blocks[i], StringComparison.Ordinal);
            Assert.Contains($"failed       {TestQueues.FaultTime} on queue {Source}, after 5 retries", blocks[i], StringComparison.Ordinal);
            Assert.Contains("replays      0", blocks[i], StringComparison.Ordinal);
        }

        Assert.Contains("not-json-1", blocks[3], StringComparison.Ordinal);
        Assert.Contains("type         (unknown)", blocks[3], StringComparison.Ordinal);
        Assert.DoesNotContain("StackTrace", result.Stdout, StringComparison.Ordinal);

        // And nothing was consumed: the same messages, in the same order
        var left = await queues.PeekAllAsync(Error);
        Assert.Equal([.. ids, "not-json-1"], left.Select(m => m.MessageId));
        Assert.Equal(0u, await queues.CountAsync(Source));
    }

    [Fact]
    public async Task List_of_an_empty_dead_letter_queue_says_so_and_succeeds()
    {
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Error);

        var result = await RunAsync(vhost, "list", "--queue", Error);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("0 messages", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_dry_run_names_what_would_move_and_moves_nothing()
    {
        // Given
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Source, Error);
        var ids = await queues.DeadLetterAsync(3);

        // When
        var result = await RunAsync(vhost, "replay", "--queue", Error, "--dry-run");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var id in ids)
        {
            Assert.Contains($"would replay {id} DeviceRegistered acme/", result.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("nothing was moved", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(ids, (await queues.PeekAllAsync(Error)).Select(m => m.MessageId));
        Assert.Equal(0u, await queues.CountAsync(Source));
    }

    [Fact]
    public async Task Purge_removes_only_the_named_message_and_prints_it_first()
    {
        // Given
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Source, Error);
        var ids = await queues.DeadLetterAsync(3);

        // When
        var result = await RunAsync(vhost, "purge", "--queue", Error, "--message-id", ids[1]);

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"purging {ids[1]} from {Error}", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"deviceId\":\"d0001\"", result.Stdout, StringComparison.Ordinal);
        Assert.Contains($"purged {ids[1]}", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("1 message purged", result.Stdout, StringComparison.Ordinal);
        Assert.Equal([ids[0], ids[2]], (await queues.PeekAllAsync(Error)).Select(m => m.MessageId));
        Assert.Equal(0u, await queues.CountAsync(Source));
    }

    [Fact]
    public async Task Purge_of_an_id_that_is_not_there_exits_1_and_removes_nothing()
    {
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Source, Error);
        var ids = await queues.DeadLetterAsync(2);

        var result = await RunAsync(vhost, "purge", "--queue", Error, "--message-id", "5b1d0000-0000-0000-0000-00000000dead");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"not in {Error}: 5b1d0000-0000-0000-0000-00000000dead", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(ids, (await queues.PeekAllAsync(Error)).Select(m => m.MessageId));
    }

    [Fact]
    public async Task Replay_of_one_message_keeps_its_id_body_and_own_headers_drops_the_fault_headers_and_counts_the_replay()
    {
        // Given
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Source, Error);
        var ids = await queues.DeadLetterAsync(3);
        var original = (await queues.PeekAllAsync(Error))[1];

        // When
        var result = await RunAsync(vhost, "replay", "--queue", Error, "--message-id", ids[1].ToUpperInvariant());

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"replayed {ids[1]} DeviceRegistered acme/d0001 -> {Source} (replay 1;", result.Stdout, StringComparison.Ordinal);
        var replayed = Assert.Single(await queues.PeekAllAsync(Source));
        Assert.Equal(ids[1], replayed.MessageId);
        Assert.Equal(original.Body, replayed.Body);
        Assert.Equal("application/vnd.masstransit+json", replayed.ContentType);
        Assert.True(replayed.Persistent);
        Assert.Equal("kept", replayed.Header("custom"));
        Assert.Equal("rabbitmq://127.0.0.1/upstream/upstream_faults", replayed.Header("MT-Fault-Address"));
        Assert.Equal("1", replayed.Header("Provisioning-Replay-Count"));
        Assert.DoesNotContain(replayed.Headers.Keys, key => key == "MT-Reason" || key.StartsWith("MT-Host-", StringComparison.Ordinal) || (key.StartsWith("MT-Fault-", StringComparison.Ordinal) && key != "MT-Fault-Address"));
        Assert.Equal([ids[0], ids[2]], (await queues.PeekAllAsync(Error)).Select(m => m.MessageId));
    }

    [Fact]
    public async Task Replay_with_a_limit_moves_that_many_from_the_head_in_order_and_increments_an_earlier_replay_count()
    {
        // Given messages replayed once before
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Source, Error);
        var ids = await queues.DeadLetterAsync(5, replayCount: 1);

        // When
        var result = await RunAsync(vhost, "replay", "--queue", Error, "--limit", "3");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("3 messages replayed", result.Stdout, StringComparison.Ordinal);
        var moved = await queues.PeekAllAsync(Source);
        Assert.Equal(ids.Take(3), moved.Select(m => m.MessageId));
        Assert.All(moved, m => Assert.Equal("2", m.Header("Provisioning-Replay-Count")));
        Assert.Equal(ids.Skip(3), (await queues.PeekAllAsync(Error)).Select(m => m.MessageId));
    }

    [Fact]
    public async Task Replay_of_an_unknown_id_exits_1_and_moves_nothing()
    {
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Source, Error);
        var ids = await queues.DeadLetterAsync(2);

        var result = await RunAsync(vhost, "replay", "--queue", Error, "--message-id", "no-such-message");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"not in {Error}: no-such-message", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(ids, (await queues.PeekAllAsync(Error)).Select(m => m.MessageId));
        Assert.Equal(0u, await queues.CountAsync(Source));
    }

    [Fact]
    public async Task Replay_to_a_queue_that_no_longer_exists_exits_2_and_keeps_the_message()
    {
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Error);
        var ids = await queues.DeadLetterAsync(1);

        var result = await RunAsync(vhost, "replay", "--queue", Error);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"queue '{Source}', which does not exist", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(ids, (await queues.PeekAllAsync(Error)).Select(m => m.MessageId));
        Assert.False(await queues.ExistsAsync(Source));
    }

    [Fact]
    public async Task A_missing_queue_exits_2_naming_it()
    {
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);

        var result = await RunAsync(vhost, "list", "--queue", "device-deleted_error");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("queue 'device-deleted_error' does not exist", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData("list")]
    [InlineData("replay")]
    [InlineData("purge")]
    public async Task A_queue_that_is_not_a_dead_letter_queue_exits_2_and_is_not_touched(string verb)
    {
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Source);
        await queues.PublishRawAsync(Source, new BasicProperties { MessageId = "live-1" }, Encoding.UTF8.GetBytes("{}"));

        var result = await RunAsync(vhost, verb == "purge" ? [verb, "--queue", Source, "--message-id", "live-1"] : [verb, "--queue", Source]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"'{Source}' is not a dead-letter queue: its name must end in _error or _skipped", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(["live-1"], (await queues.PeekAllAsync(Source)).Select(m => m.MessageId));
    }

    [Fact]
    public async Task A_broker_that_is_down_exits_3_with_the_address_and_no_password()
    {
        // Given a port nothing listens on
        var port = FreePort.Next();

        // When
        var result = await WorkerProcess.RunToExitAsync(
            ["dead-letters", "replay", "--queue", Error],
            new Dictionary<string, string?> { ["RabbitMq__Uri"] = $"amqp://someone:secret-pw@127.0.0.1:{port}/prod" });

        // Then
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains($"cannot connect to RabbitMQ at 127.0.0.1:{port} vhost 'prod'", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_virtual_host_exits_3_saying_so()
    {
        var uri = new UriBuilder(endpoints.RabbitMqUri) { Path = "/no-such-vhost-" + Guid.NewGuid().ToString("N") }.Uri;

        var result = await WorkerProcess.RunToExitAsync(["dead-letters", "list", "--queue", Error], new Dictionary<string, string?> { ["RabbitMq__Uri"] = uri.ToString() });

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("refused the virtual host", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_configured_broker_address_exits_2_naming_the_key()
    {
        var result = await WorkerProcess.RunToExitAsync(["dead-letters", "list", "--queue", Error], new Dictionary<string, string?> { ["RabbitMq__Uri"] = string.Empty });

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("error: invalid configuration: RabbitMq:Uri is ''; it must be an absolute amqp:// or amqps:// URI", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_arguments_exit_2_with_the_usage()
    {
        var result = await WorkerProcess.RunToExitAsync(["dead-letters", "replay", "--queue", Error, "--limit", "0"], new Dictionary<string, string?> { ["RabbitMq__Uri"] = "amqp://127.0.0.1:1/" });

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--limit must be at least 1", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("usage: dead-letters", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_replay_killed_hard_midway_loses_nothing()
    {
        // Given
        const int Messages = 3000;
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, Source, Error);
        var ids = await queues.DeadLetterAsync(Messages);

        // When: the tool dies without any shutdown code once it is well under way
        await using (var tool = WorkerProcess.Start(["dead-letters", "replay", "--queue", Error], Environment(vhost)))
        {
            await Eventually.TrueAsync(
                () =>
                {
                    Assert.False(tool.HasExited, $"the replay ended before it could be killed:\n{tool.Stdout}\n{tool.Stderr}");
                    return CountLines(tool.Stdout, "replayed ") >= 300;
                },
                TimeSpan.FromSeconds(60),
                "the replay did not get under way",
                () => $"{tool.Stdout}\n{tool.Stderr}",
                TimeSpan.FromMilliseconds(10));

            tool.KillHard();
        }

        // Then: every message is in one of the two queues; the one in flight may be in both
        var seen = new List<string>();
        var errorLeft = 0;
        var missing = ids.ToList();
        await Eventually.TrueAsync(
            async () =>
            {
                // The broker returns the killed channel's unacknowledged message once it notices the closed socket.
                var fromError = await queues.DrainAsync(Error);
                errorLeft += fromError.Count;
                seen.AddRange(fromError.Concat(await queues.DrainAsync(Source)).Select(m => m.MessageId!));
                missing = ids.Except(seen).ToList();
                return missing.Count == 0;
            },
            TimeSpan.FromSeconds(30),
            "some messages are in neither queue",
            () => $"{missing.Count} missing, e.g. {missing.FirstOrDefault()}");

        Assert.InRange(seen.Count - Messages, 0, 1);
        Assert.True(errorLeft > 0, "the replay had finished before the kill: the test proved nothing");
        Assert.True(errorLeft < Messages, "nothing had been replayed before the kill");
    }

    private static int CountLines(string text, string prefix) =>
        text.Split('\n').Count(line => line.StartsWith(prefix, StringComparison.Ordinal));

    private static Dictionary<string, string?> Environment(TestVirtualHost vhost) => new() { ["RabbitMq__Uri"] = vhost.AmqpUri.ToString() };

    private static Task<ProcessResult> RunAsync(TestVirtualHost vhost, params string[] args) =>
        WorkerProcess.RunToExitAsync(["dead-letters", .. args], Environment(vhost));
}
