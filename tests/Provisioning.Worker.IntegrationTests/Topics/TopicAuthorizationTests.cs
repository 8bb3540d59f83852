using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Topics;

/// <summary>Tenant isolation (docs/topic-authorization.md) end to end: the worker keeps the acl_file of a real Mosquitto.</summary>
[Collection(ServicesCollection.Name)]
public sealed class TopicAuthorizationTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _replyTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_device_reads_and_writes_its_own_topics_only_and_the_operators_block_keeps_working()
    {
        // Given: two devices of acme, one of globex, the operator's service subscribed to everything
        await using var harness = await PipelineHarness.StartAsync(endpoints, withAclFile: true);
        await harness.StartWorkerAsync();
        var a = await RegisterAsync(harness, "acme", "sensor-1");
        var sibling = await RegisterAsync(harness, "acme", "sensor-2");
        var b = await RegisterAsync(harness, "globex", "pump-9");
        await using var deviceA = await MqttDevice.ConnectAsync(harness.Broker.Port, a.Username, a.Password);
        await using var deviceB = await MqttDevice.ConnectAsync(harness.Broker.Port, b.Username, b.Password);
        await using var deviceSibling = await MqttDevice.ConnectAsync(harness.Broker.Port, sibling.Username, sibling.Password);
        await using var service = await MqttDevice.ConnectAsync(harness.Broker.Port, PipelineHarness.OperatorUser, PipelineHarness.OperatorPassword);
        await deviceA.SubscribeAsync("#", "devices/globex/pump-9/#", "devices/acme/sensor-2/#", "devices/acme/sensor-1/#");
        await deviceB.SubscribeAsync("devices/globex/pump-9/#");
        await service.SubscribeAsync("#");

        // When
        Assert.True(await deviceB.PublishAsync("devices/globex/pump-9/telemetry", "secret-reading-42"));
        Assert.True(await deviceSibling.PublishAsync("devices/acme/sensor-2/telemetry", "sibling-reading"));
        Assert.False(await deviceA.PublishAsync("devices/globex/pump-9/cmd", "injected-command"), "A may publish into B's topic");
        Assert.True(await deviceA.PublishAsync("devices/acme/sensor-1/telemetry", "own-reading"));
        Assert.True(await deviceB.PublishAsync("devices/globex/pump-9/marker", "b-marker"));

        // Then: A gets its own message only; B never sees A's command; the operator's service sees every device
        await deviceA.WaitForAsync("own-reading");
        await deviceB.WaitForAsync("b-marker");
        await service.WaitForAsync("b-marker");
        await Task.Delay(300);
        Assert.DoesNotContain(deviceA.Received, m => m.Payload is "secret-reading-42" or "sibling-reading" or "b-marker");
        Assert.DoesNotContain(deviceB.Received, m => m.Payload == "injected-command");
        Assert.Contains(service.Received, m => m.Payload == "secret-reading-42");
        Assert.Contains(service.Received, m => m.Payload == "sibling-reading");
        Assert.Contains(PipelineHarness.OperatorAclBlock, await File.ReadAllTextAsync(harness.Broker.AclFile), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_that_publishes_the_instant_its_reply_arrives_is_allowed_every_time()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints, withAclFile: true);
        await harness.StartWorkerAsync();

        for (var i = 0; i < 20; i++)
        {
            // When
            var issued = await RegisterAsync(harness, "acme", $"instant-{i}");

            // Then: the device is told its topics, and may use them with no pause between the reply and the publish
            var topic = Assert.Single(issued.Topics);
            Assert.Equal(($"devices/acme/instant-{i}/#", "readwrite"), (topic.Filter, topic.Access));
            await using var device = await MqttDevice.ConnectAsync(harness.Broker.Port, issued.Username, issued.Password);
            Assert.True(await device.PublishAsync($"devices/acme/instant-{i}/hello", "hi"), $"device {i} was denied its own topic\n{harness.Diagnostics()}");
        }

        await harness.AssertOperatorAccountIntactAsync();
        Assert.Contains(PipelineHarness.OperatorAclBlock, await File.ReadAllTextAsync(harness.Broker.AclFile), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_devices_rules_leave_the_file_a_rotated_device_keeps_them_and_changed_rules_apply_to_every_device_after_a_restart()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints, withAclFile: true);
        await harness.StartWorkerAsync();
        await RegisterAsync(harness, "acme", "gone");
        await RegisterAsync(harness, "acme", "rotated");
        await RegisterAsync(harness, "globex", "kept");

        // When
        await harness.PublishDeletedAsync("acme", "gone");
        await harness.Replies.WaitForOneAsync(nameof(CredentialsRevoked), "acme", "gone", _replyTimeout, harness.Diagnostics);
        await harness.PublishRegisteredAsync("acme", "rotated");
        var rotated = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "rotated", _replyTimeout, harness.Diagnostics, nth: 2)).Issued;

        // Then
        var acl = await File.ReadAllTextAsync(harness.Broker.AclFile);
        Assert.DoesNotContain("acme/gone", acl, StringComparison.Ordinal);
        Assert.DoesNotContain("user acme/", acl, StringComparison.Ordinal); // the default rule is one pattern line: no device blocks
        Assert.Contains("pattern readwrite devices/%u/#\n", acl, StringComparison.Ordinal);
        await using (var device = await MqttDevice.ConnectAsync(harness.Broker.Port, rotated.Username, rotated.Password))
        {
            Assert.True(await device.PublishAsync("devices/acme/rotated/x", "x"));
        }

        // When: the rules change in configuration and the worker restarts
        await harness.StartWorkerAsync(new Dictionary<string, string?>
        {
            ["Mosquitto__DeviceTopics__0"] = "write telemetry/{tenantId}/{deviceId}",
            ["Mosquitto__DeviceTopics__1"] = "read commands/{deviceId}/of/{tenantId}/#",
        });
        await Eventually.TrueAsync(
            async () => (await File.ReadAllTextAsync(harness.Broker.AclFile)).Contains("commands/kept/of/globex", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            "the acl_file did not follow the new rules",
            harness.Diagnostics);

        // Then: every device follows the new rules (the adjacent ids as a pattern, the others a block each), the old
        // ones are gone, and the broker enforces them
        acl = await File.ReadAllTextAsync(harness.Broker.AclFile);
        Assert.Contains("pattern write telemetry/%u\n", acl, StringComparison.Ordinal);
        Assert.Contains("user acme/rotated\ntopic read commands/rotated/of/acme/#\n", acl, StringComparison.Ordinal);
        Assert.Contains("user globex/kept\ntopic read commands/kept/of/globex/#\n", acl, StringComparison.Ordinal);
        Assert.DoesNotContain("devices/", acl, StringComparison.Ordinal);
        Assert.Contains(PipelineHarness.OperatorAclBlock, acl, StringComparison.Ordinal);
        await using var after = await MqttDevice.ConnectAsync(harness.Broker.Port, rotated.Username, rotated.Password);
        Assert.True(await after.PublishAsync("telemetry/acme/rotated", "t"));
        Assert.False(await after.PublishAsync("devices/acme/rotated/x", "x"));
    }

    [Fact]
    public async Task A_bad_operator_line_in_the_acl_file_holds_the_replies_names_the_line_and_the_next_cycle_after_the_fix_releases_them()
    {
        // Given: a running worker, and an operator who mistypes an access word above their block
        await using var harness = await PipelineHarness.StartAsync(endpoints, withAclFile: true);
        var worker = await harness.StartWorkerAsync();
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        await RegisterAsync(harness, "acme", "before");
        var good = await File.ReadAllTextAsync(harness.Broker.AclFile);
        await File.WriteAllTextAsync(harness.Broker.AclFile, "topic sideways #\n" + good);

        // When
        await harness.PublishRegisteredAsync("acme", "held");

        // Then: readiness fails naming the line, the reply waits, and the file keeps the operator's lines as they are
        var (status, body) = await WorkerHttp.PollAsync(address, "/health/ready", (s, b) => s != System.Net.HttpStatusCode.OK && b.Contains("line 1", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.True(status == System.Net.HttpStatusCode.ServiceUnavailable && body.Contains("line 1", StringComparison.Ordinal), $"{status}: {body}\n{harness.Diagnostics()}");
        Assert.Contains("sideways", WorkerHttp.Checks(body)["mosquitto-reload"].Description, StringComparison.Ordinal);
        Assert.Empty(harness.Replies.For("acme", "held"));
        Assert.StartsWith("topic sideways #\n", await File.ReadAllTextAsync(harness.Broker.AclFile), StringComparison.Ordinal);

        // When: the operator fixes the line
        await File.WriteAllTextAsync(harness.Broker.AclFile, good);

        // Then: the held reply goes out, and the device may use its topics
        var held = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "held", _replyTimeout, harness.Diagnostics)).Issued;
        await using var device = await MqttDevice.ConnectAsync(harness.Broker.Port, held.Username, held.Password);
        Assert.True(await device.PublishAsync("devices/acme/held/x", "x"));
        Assert.Contains(PipelineHarness.OperatorAclBlock, await File.ReadAllTextAsync(harness.Broker.AclFile), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_default_rule_registrations_and_deletions_leave_the_acl_file_alone()
    {
        // Given: a running worker whose acl_file holds the pattern line (each rewrite gives the probe a new topic, so
        // the same bytes mean the same file)
        await using var harness = await PipelineHarness.StartAsync(endpoints, withAclFile: true);
        await harness.StartWorkerAsync();
        await RegisterAsync(harness, "acme", "first");
        var before = await File.ReadAllBytesAsync(harness.Broker.AclFile);

        // When: more devices come and one goes
        var issued = new List<CredentialsIssued>();
        for (var i = 0; i < 5; i++)
        {
            issued.Add(await RegisterAsync(harness, "globex", $"next-{i}"));
        }

        await harness.PublishDeletedAsync("acme", "first");
        await harness.Replies.WaitForOneAsync(nameof(CredentialsRevoked), "acme", "first", _replyTimeout, harness.Diagnostics);

        // Then: the acl_file was not rewritten, and every new device may use its own topics (the pattern gives them)
        Assert.Equal(before, await File.ReadAllBytesAsync(harness.Broker.AclFile));
        foreach (var device in issued)
        {
            await using var client = await MqttDevice.ConnectAsync(harness.Broker.Port, device.Username, device.Password);
            Assert.True(await client.PublishAsync($"devices/{device.TenantId}/{device.DeviceId}/x", "x"), harness.Diagnostics());
            Assert.False(await client.PublishAsync("devices/acme/first/x", "x"));
        }
    }

    [Theory]
    [InlineData("readwrite devices/{tenant}/{deviceId}/#", "Mosquitto:DeviceTopics:0")]
    [InlineData("readwrite devices/#/{deviceId}", "Mosquitto:DeviceTopics:0")]
    [InlineData("readwrite", "Mosquitto:DeviceTopics:0")]
    [InlineData("subscribe devices/{tenantId}/{deviceId}/#", "Mosquitto:DeviceTopics:0")]
    public async Task Bad_rules_stop_the_worker_at_start_naming_the_key(string rule, string key)
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints, withAclFile: true);
        var environment = harness.WorkerEnvironment();
        environment["Mosquitto__DeviceTopics__0"] = rule;

        // When
        var result = await WorkerProcess.RunToExitAsync([], environment, timeout: TimeSpan.FromSeconds(60));

        // Then
        Assert.Equal(3, result.ExitCode);
        Assert.Contains(key, result.ToString(), StringComparison.Ordinal);
    }

    private static async Task<CredentialsIssued> RegisterAsync(PipelineHarness harness, string tenantId, string deviceId)
    {
        await harness.PublishRegisteredAsync(tenantId, deviceId);
        return (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), tenantId, deviceId, _replyTimeout, harness.Diagnostics)).Issued;
    }
}
