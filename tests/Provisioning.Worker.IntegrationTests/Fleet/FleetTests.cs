using System.Diagnostics;
using System.Net;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Fleet;

/// <summary>
/// Two replicas of one group, each kept by its agent, behind HAProxy; a central worker (docs/fleet.md). Every broker
/// of the group must be right before a device is told, and a lost or frozen one must not hold replies for ever.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class FleetTests(ServiceEndpoints endpoints, ITestOutputHelper output)
{
    private const string Group = "default";
    private static readonly TimeSpan _replyTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_device_is_accepted_by_each_replica_the_instant_it_is_told_and_refused_by_each_before_its_revocation_is_sent()
    {
        // Given
        await using var world = await FleetWorld.StartAsync(endpoints, output, ("mqtt-a", Group), ("mqtt-b", Group));
        await world.StartCentralAsync();
        var endpoint = world.Frontends[Group];

        // When / Then: each credential works on each replica and through the load balancer as soon as it is told
        var issued = new List<CredentialsIssued>();
        for (var i = 0; i < 6; i++)
        {
            await world.PublishRegisteredAsync("acme", $"meter-{i}");
            var credential = (await world.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", $"meter-{i}", _replyTimeout, world.Diagnostics)).Issued;
            foreach (var replica in world.Replicas)
            {
                Assert.True(await CanConnectAsync(replica.Broker.Port, credential), $"{replica.Name} refused meter-{i} after it was told\n{world.Diagnostics()}");
            }

            Assert.True(await CanConnectAsync(endpoint.Port, credential), $"the group's endpoint refused meter-{i}\n{world.Diagnostics()}");
            Assert.Equal(endpoint.Port, credential.BrokerPort);
            issued.Add(credential);
        }

        // and each deleted device is refused by each replica before its revocation is sent
        for (var i = 0; i < 3; i++)
        {
            await world.PublishDeletedAsync("acme", $"meter-{i}");
            await world.Replies.WaitForOneAsync(nameof(CredentialsRevoked), "acme", $"meter-{i}", _replyTimeout, world.Diagnostics);
            foreach (var replica in world.Replicas)
            {
                Assert.False(await CanConnectAsync(replica.Broker.Port, issued[i]), $"{replica.Name} still accepts meter-{i} after its revocation was sent");
            }
        }

        // and the operators' lines of each replica are kept byte for byte
        foreach (var replica in world.Replicas)
        {
            Assert.Contains(PipelineHarness.OperatorLine + "\n", await File.ReadAllTextAsync(replica.Broker.PasswdFile), StringComparison.Ordinal);
            Assert.StartsWith(PipelineHarness.OperatorAclBlock, await File.ReadAllTextAsync(replica.Broker.AclFile), StringComparison.Ordinal);
            Assert.True(await MosquittoBroker.CanConnectAsync("127.0.0.1", replica.Broker.Port, PipelineHarness.OperatorUser, PipelineHarness.OperatorPassword, () => replica.Broker.Log));
        }
    }

    [Fact]
    public async Task A_lost_replica_holds_replies_only_until_the_silence_timeout_and_returns_with_every_change_it_missed()
    {
        // Given
        await using var world = await FleetWorld.StartAsync(endpoints, output, ("mqtt-a", Group), ("mqtt-b", Group));
        await world.StartCentralAsync();
        var gone = world["mqtt-b"];
        await world.PublishRegisteredAsync("acme", "kept");
        var kept = (await world.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "kept", _replyTimeout, world.Diagnostics)).Issued;

        // When: replica b (broker and agent) is lost, then a device is registered and another deleted
        gone.Agent!.KillHard();
        await gone.Broker.StopAsync();
        var lost = Stopwatch.StartNew();
        await world.PublishRegisteredAsync("acme", "newcomer");
        var newcomer = (await world.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "newcomer", _replyTimeout, world.Diagnostics)).Issued;
        var waited = lost.Elapsed;
        await world.PublishDeletedAsync("acme", "kept");
        await world.Replies.WaitForOneAsync(nameof(CredentialsRevoked), "acme", "kept", _replyTimeout, world.Diagnostics);

        // Then: the reply waited for the lost replica until it was silent past the timeout (5 s; its last heartbeat came
        // up to a poll interval before it died), then flowed; the load balancer sends devices to the live replica only
        Assert.True(waited > TimeSpan.FromSeconds(4), $"the reply was released {waited.TotalSeconds:0.0} s after the replica was lost, before its silence timeout");
        for (var i = 0; i < 5; i++)
        {
            Assert.True(await CanConnectAsync(world.Frontends[Group].Port, newcomer), $"connection {i} through the load balancer was refused\n{world.Diagnostics()}");
        }

        Assert.False(await CanConnectAsync(world["mqtt-a"].Broker.Port, kept));

        // and an operator who forgets the lost broker no longer sees it, until its agent reports again
        Assert.Equal(0, (await world.RunCommandAsync("brokers", "forget", "mqtt-b")).ExitCode);
        Assert.DoesNotContain("mqtt-b", (await world.RunCommandAsync("brokers", "list")).Stdout, StringComparison.Ordinal);

        // When: the replica returns
        await gone.Broker.StartAgainAsync();
        await world.StartAgentAsync(gone);

        // Then: ready only once rebuilt, holding every change it missed
        Assert.True(await CanConnectAsync(gone.Broker.Port, newcomer), $"the returning replica refuses the device registered while it was away\n{world.Diagnostics()}");
        Assert.False(await CanConnectAsync(gone.Broker.Port, kept), "the returning replica still accepts the device deleted while it was away");
        var list = await world.RunCommandAsync("brokers", "list", "--json");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("\"name\": \"mqtt-b\"", list.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_frozen_agent_holds_replies_until_an_operator_takes_its_broker_out()
    {
        // Given: a silence timeout far beyond the test, so only the operator can release replies
        await using var world = await FleetWorld.StartAsync(endpoints, output, ("mqtt-a", Group), ("mqtt-b", Group));
        world.CentralSettings["Brokers__SilenceTimeout"] = "00:10:00";
        await world.StartCentralAsync();
        var frozen = world["mqtt-b"];
        await ProcessRunner.RunAsync("kill", ["-STOP", frozen.Agent!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        try
        {
            // When
            await world.PublishRegisteredAsync("acme", "waiting");

            // Then: nothing is released on the frozen agent's behalf
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.Empty(world.Replies.For("acme", "waiting"));

            // When: the operator takes its broker out
            var taken = await world.RunCommandAsync("brokers", "out", "mqtt-b");
            Assert.True(taken.ExitCode == 0, taken.Stderr);

            // Then: the reply goes at once, and the live replica accepts it
            var waiting = (await world.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "waiting", TimeSpan.FromSeconds(10), world.Diagnostics)).Issued;
            Assert.True(await CanConnectAsync(world["mqtt-a"].Broker.Port, waiting));
            var list = await world.RunCommandAsync("brokers", "list");
            Assert.Matches(@"mqtt-b\s+default\s+out", list.Stdout);
            Assert.Equal(1, (await world.RunCommandAsync("brokers", "out", "no-such-broker")).ExitCode);
        }
        finally
        {
            await ProcessRunner.RunAsync("kill", ["-CONT", frozen.Agent!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        // When: thawed and put back in, it catches up and later replies wait for it again
        Assert.Equal(0, (await world.RunCommandAsync("brokers", "in", "mqtt-b")).ExitCode);
        await world.PublishRegisteredAsync("acme", "after");
        var after = (await world.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "after", _replyTimeout, world.Diagnostics)).Issued;
        Assert.True(await CanConnectAsync(frozen.Broker.Port, after), $"the replica put back in refuses a device told after it\n{world.Diagnostics()}");
    }

    [Fact]
    public async Task An_agent_cut_from_PostgreSQL_turns_unready_within_its_bound_and_ready_again_once_rebuilt()
    {
        // Given: replica b's agent reaches PostgreSQL through a proxy
        await using var world = await FleetWorld.StartAsync(endpoints, output, ("mqtt-a", Group), ("mqtt-b", Group));
        var database = new Npgsql.NpgsqlConnectionStringBuilder(world.Database.ConnectionString);
        await using var proxy = TcpProxy.Start(database.Host!, database.Port);
        database.Port = proxy.Port;
        var cut = world["mqtt-b"];
        await world.StartAgentAsync(cut, overrides: new Dictionary<string, string?> { ["ConnectionStrings__Provisioning"] = database.ConnectionString });
        await world.StartCentralAsync();

        // When
        await proxy.CloseAsync();
        var clock = Stopwatch.StartNew();

        // Then: 503 within Agent:MaxLag (3 s) and a cycle or two
        var (status, body) = await WorkerHttp.PollAsync(cut.AgentAddress, "/health/ready", (s, _) => s == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(15));
        Assert.True(status == HttpStatusCode.ServiceUnavailable, $"still {status} after {clock.Elapsed.TotalSeconds:0.0} s: {body}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"503 only after {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(HttpStatusCode.OK, (await WorkerHttp.GetAsync(world["mqtt-a"].AgentAddress, "/health/ready")).Status);

        // When / Then: the link returns; ready again, with the changes made meanwhile
        await world.PublishRegisteredAsync("acme", "meanwhile");
        var meanwhile = (await world.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "meanwhile", _replyTimeout, world.Diagnostics)).Issued;
        proxy.Open();
        await WorkerHttp.PollAsync(cut.AgentAddress, "/health/ready", (s, _) => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        Assert.True(await CanConnectAsync(cut.Broker.Port, meanwhile), $"the replica refuses the device registered while its agent was cut off\n{world.Diagnostics()}");
    }

    [Fact]
    public async Task Under_load_with_a_replica_lost_and_back_the_fault_suites_invariants_hold_on_each_replica()
    {
        // Given
        var clock = Stopwatch.StartNew();
        await using var world = await FleetWorld.StartAsync(endpoints, output, ("mqtt-a", Group), ("mqtt-b", Group));
        await world.StartCentralAsync();
        var replica = world["mqtt-b"];
        await using var load = new Faults.LoadGenerator(world.Bus, "fleet", devices: 40, TimeSpan.FromMilliseconds(20), seed: 7001).Start();

        // When: registrations and deletions flow while replica b (broker and agent) is lost, then returns
        await load.WaitForPublishedAsync(80);
        replica.Agent!.KillHard();
        await replica.Broker.StopAsync();
        await load.WaitForPublishedAsync(load.Published.Count + 120, TimeSpan.FromSeconds(90));
        await replica.Broker.StartAgainAsync();
        await world.StartAgentAsync(replica);
        await load.WaitForPublishedAsync(load.Published.Count + 80);
        await load.StopAsync();

        // Then: nothing lost, one effect each, and on each replica every device's last credential works, every
        // deleted or rotated-out one is refused, its topics hold, the operators' lines and the file mode are kept
        await Faults.InvariantChecker.CheckAsync(world, "fleet: a replica lost and back under load", 1, load.Published, clock.Elapsed);
    }

    private static Task<bool> CanConnectAsync(int port, CredentialsIssued credential) =>
        MosquittoBroker.CanConnectAsync("127.0.0.1", port, credential.Username!, credential.Password!, () => string.Empty);
}
