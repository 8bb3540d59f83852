using System.Text;
using Npgsql;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Faults;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using RabbitMQ.Client;
using Sodium;

namespace Provisioning.Worker.IntegrationTests.Secrets;

/// <summary>Sealed delivery (docs/contract.md "Sealed delivery"): a registration with the device's key gets its password sealed to it.</summary>
[Collection(ServicesCollection.Name)]
public sealed class SealedDeliveryTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _replyTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_sealed_reply_opens_with_the_device_private_key_the_password_works_and_no_queued_message_holds_it_in_clear()
    {
        // Given: a device key pair, and a queue that keeps a copy of every CredentialsIssued published (as any reader of the exchange could)
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();
        const string Spy = "credentials-issued-spy";
        await BindSpyQueueAsync(harness.VirtualHost.AmqpUri, Spy, "Provisioning.Contracts:CredentialsIssued");
        var device = PublicKeyBox.GenerateKeyPair();

        // When
        await harness.Bus.Publish(new DeviceRegistered { TenantId = "acme", DeviceId = "sealed-1", CredentialKey = Convert.ToBase64String(device.PublicKey) });
        var issued = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "sealed-1", _replyTimeout, harness.Diagnostics)).Issued;

        // Then: only the sealed password travels; it opens with the private key, and the password works
        Assert.Null(issued.Password);
        Assert.NotNull(issued.SealedPassword);
        var password = Encoding.UTF8.GetString(SealedPublicKeyBox.Open(Convert.FromBase64String(issued.SealedPassword), device.PrivateKey, device.PublicKey));
        Assert.Equal(43, password.Length);
        Assert.True(await harness.Broker.CanConnectAsync(issued.Username, password), harness.Diagnostics());

        var queues = new QueueInspector(harness.VirtualHost.AmqpUri);
        var copies = await queues.PeekAllAsync(Spy);
        Assert.Single(copies);
        Assert.Contains(issued.SealedPassword, copies[0].Text, StringComparison.Ordinal);
        foreach (var queue in new[] { Spy, "device-registered", "device-registered_error", "device-registered_skipped", "upstream-replies" })
        {
            Assert.DoesNotContain((await queues.PeekAllAsync(queue)).Select(m => m.Text), text => text.Contains(password, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(password, harness.WorkerLogs, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wrong length", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==")]
    [InlineData("not base64", "this is not a key at all, not even base64!!")]
    [InlineData("empty", "")]
    public async Task A_bad_credential_key_is_rejected_with_its_code_and_nothing_is_written(string what, string credentialKey)
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();

        // When
        await harness.Bus.Publish(new DeviceRegistered { TenantId = "acme", DeviceId = "bad-key", CredentialKey = credentialKey });
        var reply = await harness.Replies.WaitForOneAsync(nameof(ProvisioningRejected), "acme", "bad-key", _replyTimeout, harness.Diagnostics);

        // Then
        Assert.Equal(RejectionCodes.InvalidCredentialKey, reply.Rejected.Code);
        Assert.Contains("credentialKey", reply.Rejected.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(harness.Replies.All, r => r.Type == nameof(CredentialsIssued));
        Assert.Empty(harness.DeviceLines());
        await using var connection = new NpgsqlConnection(harness.Database.ConnectionString);
        await connection.OpenAsync();
        await using var devices = new NpgsqlCommand("SELECT count(*) FROM devices", connection);
        Assert.True((long)(await devices.ExecuteScalarAsync())! == 0, $"a registration with a {what} key wrote a device row");
    }

    /// <summary>A queue bound to a publish exchange: it receives a copy of every message published there, and nobody consumes it.</summary>
    internal static async Task BindSpyQueueAsync(Uri amqpUri, string queue, string exchange)
    {
        await using var connection = await new ConnectionFactory { Uri = amqpUri }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await channel.QueueBindAsync(queue, exchange, string.Empty);
    }
}
