using System.Text;
using MassTransit;
using MQTTnet;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.IntegrationTests.Pipeline;

/// <summary>The contract (docs/contract.md) end to end: real RabbitMQ, PostgreSQL, Mosquitto, and the worker as its own process.</summary>
[Collection(ServicesCollection.Name)]
public sealed class ProvisioningPipelineTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _replyTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_registered_device_connects_as_soon_as_its_credentials_arrive_and_is_refused_and_disconnected_once_deleted()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();

        // When
        await harness.PublishRegisteredAsync("acme", "sensor-1");
        var issued = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "sensor-1", _replyTimeout, harness.Diagnostics)).Issued;

        // Then: no pause between the reply and the connect
        Assert.True(await harness.Broker.CanConnectAsync(issued.Username, issued.Password), harness.Diagnostics());
        Assert.Equal("acme/sensor-1", issued.Username);
        Assert.Equal(harness.Broker.Port, issued.BrokerPort);
        Assert.Equal("127.0.0.1", issued.BrokerHost);

        // Given a session that stays connected
        using var session = new MqttClientFactory().CreateMqttClient();
        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        session.DisconnectedAsync += _ =>
        {
            disconnected.TrySetResult();
            return Task.CompletedTask;
        };
        await session.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", harness.Broker.Port)
            .WithCredentials(issued.Username, issued.Password)
            .WithClientId("acme.sensor-1-session")
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(60))
            .Build());

        // When
        await harness.PublishDeletedAsync("acme", "sensor-1");
        var revoked = await harness.Replies.WaitForOneAsync(nameof(CredentialsRevoked), "acme", "sensor-1", _replyTimeout, harness.Diagnostics);

        // Then
        Assert.Equal("acme/sensor-1", ((CredentialsRevoked)revoked.Message).Username);
        Assert.False(await harness.Broker.CanConnectAsync(issued.Username, issued.Password), "the broker still accepts a deleted device");
        await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Empty(harness.DeviceLines());
        await harness.AssertOperatorAccountIntactAsync();
        Assert.DoesNotContain(issued.Password!, harness.WorkerLogs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_message_delivered_three_times_has_one_effect_and_one_reply()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();
        var messageId = NewId.NextGuid();

        // When
        for (var i = 0; i < 3; i++)
        {
            await harness.PublishRegisteredAsync("acme", "twice", messageId: messageId);
        }

        // a marker sent afterwards: once its reply is in, the duplicates have been consumed too
        await harness.PublishRegisteredAsync("acme", "marker");
        await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "marker", _replyTimeout, harness.Diagnostics);
        await harness.VirtualHost.WaitForQueueDepthAsync("device-registered", 0);

        // Then
        var replies = harness.Replies.For("acme", "twice");
        var issued = Assert.Single(replies).Issued;
        Assert.Single(harness.DeviceLines(), line => line.Username == "acme/twice");
        Assert.True(await harness.Broker.CanConnectAsync(issued.Username, issued.Password));
    }

    [Fact]
    public async Task A_worker_killed_hard_during_a_burst_leaves_every_device_with_exactly_one_working_credential()
    {
        // Given
        const int Devices = 300;
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();

        // When: a burst flows, and the worker dies mid-way without any shutdown code
        var publishing = Task.Run(async () =>
        {
            for (var i = 0; i < Devices; i++)
            {
                await harness.PublishRegisteredAsync("burst", $"d{i:D4}");
            }
        });
        await harness.Replies.WaitForAsync(all => all.Count >= 20, _replyTimeout, harness.Diagnostics);
        harness.Worker!.KillHard();
        await publishing;
        await harness.StartWorkerAsync();

        // Then
        await harness.Replies.WaitForAsync(
            all => all.Select(r => r.DeviceId).Distinct().Count() >= Devices,
            TimeSpan.FromSeconds(90),
            harness.Diagnostics);
        await harness.VirtualHost.WaitForQueueDepthAsync("device-registered", 0);
        var replies = harness.Replies.All;
        var lines = harness.DeviceLines();
        Assert.Equal(Devices, lines.Count);
        Assert.Equal(Devices, lines.Select(l => l.Username).Distinct().Count());
        foreach (var device in replies.GroupBy(r => r.DeviceId))
        {
            // A reply re-sent after a crash carries the same messageId, so receivers can tell it is the same reply.
            Assert.Single(device.Select(r => r.MessageId).Distinct());
            var issued = device.First().Issued;
            Assert.True(await harness.Broker.CanConnectAsync(issued.Username, issued.Password), $"{issued.Username} was issued a credential the broker refuses");
        }

        await harness.AssertOperatorAccountIntactAsync();
        Assert.False(await harness.VirtualHost.QueueExistsAsync("device-registered_error"), "a registration was dead-lettered");
    }

    [Fact]
    public async Task Bad_input_is_rejected_or_dead_lettered_nothing_is_written_and_the_worker_keeps_consuming()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();

        // When: parseable but invalid
        await harness.PublishRegisteredAsync("bad:tenant", "d1");
        await harness.PublishRegisteredAsync("t1", new string('x', 65));
        await harness.PublishRegisteredAsync(null, "d2");
        await harness.PublishRegisteredAsync("t2", string.Empty);
        await harness.PublishDeletedAsync("t3", "bad/device");

        // Then
        var rejected = await harness.Replies.WaitForAsync(all => all.Count(r => r.Type == nameof(ProvisioningRejected)) >= 5, _replyTimeout, harness.Diagnostics);
        Assert.Equal(RejectionCodes.InvalidTenantId, rejected.Single(r => r.TenantId == "bad:tenant").Rejected.Code);
        Assert.Equal(RejectionCodes.InvalidDeviceId, rejected.Single(r => r.TenantId == "t1").Rejected.Code);
        Assert.Contains("65 characters", rejected.Single(r => r.TenantId == "t1").Rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(RejectionCodes.InvalidTenantId, rejected.Single(r => r.DeviceId == "d2").Rejected.Code);
        Assert.Contains("tenantId is missing", rejected.Single(r => r.DeviceId == "d2").Rejected.Reason, StringComparison.Ordinal);
        Assert.Equal(RejectionCodes.InvalidDeviceId, rejected.Single(r => r.TenantId == "t2").Rejected.Code);
        Assert.Equal(RejectionCodes.InvalidDeviceId, rejected.Single(r => r.TenantId == "t3").Rejected.Code);

        // When: not parseable at all, and a message type nobody consumes here
        await harness.SendRawAsync("device-registered", Encoding.UTF8.GetBytes("{ this is not json"), "application/vnd.masstransit+json");
        await harness.SendRawAsync("device-registered", Encoding.UTF8.GetBytes("""{"messageId":"5b1d0000-0000-0000-0000-000000000001","messageType":["urn:message:Someone.Else:Thing"],"message":{}}"""), "application/vnd.masstransit+json");

        // Then
        await harness.VirtualHost.WaitForQueueDepthAsync("device-registered_error", 1, TimeSpan.FromSeconds(30));
        await harness.VirtualHost.WaitForQueueDepthAsync("device-registered_skipped", 1, TimeSpan.FromSeconds(30));
        Assert.Empty(harness.DeviceLines());

        // And the worker still consumes
        await harness.PublishRegisteredAsync("good", "after-bad-input");
        var issued = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "good", "after-bad-input", _replyTimeout, harness.Diagnostics)).Issued;
        Assert.True(await harness.Broker.CanConnectAsync(issued.Username, issued.Password));
        Assert.Single(harness.DeviceLines());
        await harness.AssertOperatorAccountIntactAsync();
    }

    [Fact]
    public async Task A_deletion_that_arrives_before_an_older_registration_makes_that_registration_stale()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-10);

        // When: the deletion (t0+2) overtakes the registration (t0+1)
        await harness.PublishDeletedAsync("late", "dev", t0.AddMinutes(2));
        await harness.Replies.WaitForOneAsync(nameof(CredentialsRevoked), "late", "dev", _replyTimeout, harness.Diagnostics);
        await harness.PublishRegisteredAsync("late", "dev", t0.AddMinutes(1));

        // Then
        var stale = await harness.Replies.WaitForOneAsync(nameof(ProvisioningRejected), "late", "dev", _replyTimeout, harness.Diagnostics);
        Assert.Equal(RejectionCodes.Stale, stale.Rejected.Code);
        Assert.Empty(harness.DeviceLines());

        // When: a genuinely newer registration
        await harness.PublishRegisteredAsync("late", "dev", t0.AddMinutes(3));

        // Then
        var issued = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "late", "dev", _replyTimeout, harness.Diagnostics)).Issued;
        Assert.True(await harness.Broker.CanConnectAsync(issued.Username, issued.Password));
    }

    [Fact]
    public async Task Registering_an_active_device_again_rotates_its_credential()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();
        await harness.PublishRegisteredAsync("acme", "rotating");
        var first = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "rotating", _replyTimeout, harness.Diagnostics)).Issued;

        // When
        await harness.PublishRegisteredAsync("acme", "rotating");
        var second = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "rotating", _replyTimeout, harness.Diagnostics, nth: 2)).Issued;

        // Then
        Assert.NotEqual(first.Password, second.Password);
        Assert.True(await harness.Broker.CanConnectAsync(second.Username, second.Password));
        Assert.False(await harness.Broker.CanConnectAsync(first.Username, first.Password), "the old password still works after rotation");
        Assert.Single(harness.DeviceLines());
        await harness.AssertOperatorAccountIntactAsync();
    }

    [Fact]
    public async Task A_passwd_file_deleted_while_the_worker_is_down_is_rebuilt_at_start()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();
        await harness.PublishRegisteredAsync("acme", "survivor");
        var issued = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "survivor", _replyTimeout, harness.Diagnostics)).Issued;
        Assert.Equal(0, await harness.Worker!.StopAsync());

        // When
        File.Delete(harness.Broker.PasswdFile);
        await harness.StartWorkerAsync();

        // Then
        Assert.Single(harness.DeviceLines(), line => line.Username == "acme/survivor");
        Assert.True(await harness.Broker.CanConnectAsync(issued.Username, issued.Password));
    }

    [Fact]
    public async Task A_hand_edited_passwd_file_is_repaired_at_start_and_the_operator_line_is_kept()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();
        await harness.PublishRegisteredAsync("acme", "kept");
        var issued = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "kept", _replyTimeout, harness.Diagnostics)).Issued;
        await harness.Worker!.StopAsync();

        // When: someone removes the device line and adds a device-shaped line the database does not know
        var edited = File.ReadAllLines(harness.Broker.PasswdFile)
            .Where(line => !line.StartsWith("acme/kept:", StringComparison.Ordinal))
            .Append("rogue.device:" + MosquittoPasswordHash.Create("guess", 101));
        File.WriteAllLines(harness.Broker.PasswdFile, edited);
        await harness.StartWorkerAsync();

        // Then
        var lines = harness.DeviceLines();
        Assert.Equal(["acme/kept"], lines.Select(l => l.Username));
        Assert.True(await harness.Broker.CanConnectAsync(issued.Username, issued.Password));
        Assert.False(await harness.Broker.CanConnectAsync("rogue.device", "guess"));
        await harness.AssertOperatorAccountIntactAsync();
    }

    [Fact]
    public async Task A_registration_sent_with_the_request_client_gets_its_reply_on_the_response_address()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();
        var client = harness.Bus.CreateRequestClient<DeviceRegistered>(RequestTimeout.After(s: 30));

        // When
        var response = await client.GetResponse<CredentialsIssued, ProvisioningRejected>(new DeviceRegistered { TenantId = "req", DeviceId = "r1" });

        // Then: it came back to the request, not through the published reply
        Assert.True(response.Is(out Response<CredentialsIssued>? issued), $"expected CredentialsIssued, got {response.Message}");
        Assert.True(await harness.Broker.CanConnectAsync(issued!.Message.Username, issued.Message.Password));
        Assert.Empty(harness.Replies.For("req", "r1"));

        // And a rejection comes back the same way
        var rejected = await client.GetResponse<CredentialsIssued, ProvisioningRejected>(new DeviceRegistered { TenantId = "req", DeviceId = "bad device" });
        Assert.True(rejected.Is(out Response<ProvisioningRejected>? rejection));
        Assert.Equal(RejectionCodes.InvalidDeviceId, rejection!.Message.Code);
    }
}
