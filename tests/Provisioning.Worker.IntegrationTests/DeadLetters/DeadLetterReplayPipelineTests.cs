using MassTransit;
using Npgsql;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.DeadLetters;

/// <summary>Dead letters made by the real worker, replayed with <c>dead-letters replay</c>, consumed by the real worker.</summary>
[Collection(ServicesCollection.Name)]
public sealed class DeadLetterReplayPipelineTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(30);

    /// <summary>Transient faults retried once, quickly, so a registration reaches <c>_error</c> within a second.</summary>
    private static readonly Dictionary<string, string?> _shortRetry = new()
    {
        ["RabbitMq__RetryLimit"] = "1",
        ["RabbitMq__RetryMinInterval"] = "00:00:00.100",
        ["RabbitMq__RetryMaxInterval"] = "00:00:00.200",
    };

    [Fact]
    public async Task A_registration_dead_lettered_while_PostgreSQL_refused_connections_succeeds_once_replayed()
    {
        // Given a worker that reaches PostgreSQL through a forwarder the test can close
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        var server = new NpgsqlConnectionStringBuilder(harness.Database.ConnectionString);
        await using var proxy = TcpProxy.Start(server.Host!, server.Port);
        var environment = new Dictionary<string, string?>(_shortRetry)
        {
            ["ConnectionStrings__Provisioning"] = new NpgsqlConnectionStringBuilder(harness.Database.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString,
        };
        await harness.StartWorkerAsync(environment);

        // When PostgreSQL refuses connections while a registration arrives
        await proxy.CloseAsync();
        var messageId = NewId.NextGuid();
        await harness.PublishRegisteredAsync("acme", "outage", messageId: messageId);

        // Then it lands in device-registered_error, and list shows why
        await harness.VirtualHost.WaitForQueueDepthAsync("device-registered_error", 1, _timeout);
        var dead = Assert.Single(await harness.VirtualHost.GetMessagesAsync("device-registered_error"));
        var faultType = dead.Properties.GetProperty("headers").GetProperty("MT-Fault-ExceptionType").GetString();
        var faultMessage = dead.Properties.GetProperty("headers").GetProperty("MT-Fault-Message").GetString();
        var listed = await RunAsync(harness, "list", "--queue", "device-registered_error");
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains(messageId.ToString(), listed.Stdout, StringComparison.Ordinal);
        Assert.Contains("type         DeviceRegistered", listed.Stdout, StringComparison.Ordinal);
        Assert.Contains("device       tenant acme, device outage", listed.Stdout, StringComparison.Ordinal);
        Assert.Contains($"fault        {faultType}: {faultMessage}", listed.Stdout, StringComparison.Ordinal);
        Assert.Contains("on queue device-registered, after 1 retry", listed.Stdout, StringComparison.Ordinal);
        Assert.Empty(harness.DeviceLines());
        Assert.Empty(harness.Replies.For("acme", "outage"));

        // When PostgreSQL is back and the operator replays
        proxy.Open();
        var replayed = await RunAsync(harness, "replay", "--queue", "device-registered_error");

        // Then the device gets its credential, once, and the broker accepts it
        Assert.True(replayed.ExitCode == 0, replayed.ToString());
        Assert.Contains($"replayed {messageId} DeviceRegistered acme/outage -> device-registered (replay 1;", replayed.Stdout, StringComparison.Ordinal);
        var issued = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "outage", _timeout, harness.Diagnostics)).Issued;
        Assert.True(await harness.Broker.CanConnectAsync(issued.Username, issued.Password), harness.Diagnostics());
        Assert.Equal(["acme/outage"], harness.DeviceLines().Select(l => l.Username));
        await harness.VirtualHost.WaitForQueueDepthAsync("device-registered_error", 0, _timeout);
        Assert.Single(harness.Replies.For("acme", "outage"));
        await harness.AssertOperatorAccountIntactAsync();
    }

    [Fact]
    public async Task A_replayed_message_that_had_already_taken_effect_is_absorbed_by_the_inbox()
    {
        // Given a registration that succeeded, and a copy of it (same message id) in device-registered_error
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();
        var messageId = NewId.NextGuid();
        await harness.PublishRegisteredAsync("acme", "once", messageId: messageId);
        var issued = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "once", _timeout, harness.Diagnostics)).Issued;
        await using var queues = await TestQueues.ConnectAsync(harness.VirtualHost.AmqpUri, TestQueues.Error);
        await queues.PublishRawAsync(
            TestQueues.Error,
            new RabbitMQ.Client.BasicProperties { MessageId = messageId.ToString(), ContentType = "application/vnd.masstransit+json", Persistent = true, Headers = queues.FaultHeaders() },
            TestQueues.Envelope(messageId.ToString(), "acme", "once"));

        // When
        var replayed = await RunAsync(harness, "replay", "--queue", TestQueues.Error);

        // Then the worker consumed it as a duplicate: no new credential, no second reply
        Assert.True(replayed.ExitCode == 0, replayed.ToString());
        var address = await WorkerHttp.WaitForAddressAsync(harness.Worker!);
        var (_, metrics) = await WorkerHttp.PollAsync(address, "/metrics", (_, body) => Duplicates(body) == 1, _timeout);
        Assert.True(Duplicates(metrics) == 1, $"the worker did not count the replayed message as a duplicate\n{metrics}\n{harness.Diagnostics()}");
        Assert.Single(harness.Replies.For("acme", "once"));
        Assert.True(await harness.Broker.CanConnectAsync(issued.Username, issued.Password), "the replay rotated the credential: the inbox did not recognise the message");
        Assert.Single(harness.DeviceLines());
        Assert.Equal(0u, await queues.CountAsync(TestQueues.Error));
    }

    private static double? Duplicates(string metrics) =>
        PrometheusText.Value(metrics, "provisioning_events_consumed_total", "outcome=\"duplicate\"", "type=\"DeviceRegistered\"");

    private static Task<ProcessResult> RunAsync(PipelineHarness harness, params string[] args) =>
        WorkerProcess.RunToExitAsync(["dead-letters", .. args], new Dictionary<string, string?> { ["RabbitMq__Uri"] = harness.VirtualHost.AmqpUri.ToString() });
}
