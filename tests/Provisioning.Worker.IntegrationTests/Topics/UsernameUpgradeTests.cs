using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using Provisioning.Contracts;
using Provisioning.Worker.Devices;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Provisioning.Worker.Mosquitto;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.IntegrationTests.Topics;

/// <summary>
/// The upgrade from usernames <c>{tenantId}.{deviceId}</c> (one acl block per device) to <c>{tenantId}/{deviceId}</c>
/// (one pattern line): a database, passwd file and acl_file as the earlier version left them, then today's worker.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class UsernameUpgradeTests(ServiceEndpoints endpoints)
{
    /// <summary>The last migration of the version that wrote usernames tenant.device.</summary>
    private const string EarlierVersionMigration = "20261123112611_RedeliveryGuardAndOutboxDeviceOrder";

    private static readonly TimeSpan _replyTimeout = TimeSpan.FromSeconds(30);

    private static readonly (string Tenant, string Device, string Password)[] _earlier =
    [
        ("acme", "old-1", "old-1-password"),
        ("acme", "old-2", "old-2-password"),
        ("globex", "old-3", "old-3-password"),
    ];

    [Fact]
    public async Task Earlier_form_devices_keep_working_until_they_register_again_and_a_deleted_one_loses_its_lines()
    {
        // Given: what the earlier version left: its schema, its rows, its files (101-iteration hashes, one block each)
        await using var harness = await PipelineHarness.StartAsync(endpoints, withAclFile: true);
        await SeedEarlierVersionAsync(harness);
        var operatorPasswd = PipelineHarness.OperatorLine + "\n";
        await harness.StartWorkerAsync();

        // Then: every earlier-form device still logs in and reaches exactly its own topics
        foreach (var (tenant, device, password) in _earlier)
        {
            await using var client = await MqttDevice.ConnectAsync(harness.Broker.Port, $"{tenant}.{device}", password);
            Assert.True(await client.PublishAsync($"devices/{tenant}/{device}/telemetry", "own"), $"{tenant}.{device} was denied its own topic\n{harness.Diagnostics()}");
            Assert.False(await client.PublishAsync("devices/acme/someone-else/telemetry", "foreign"), $"{tenant}.{device} may publish to another device's topic");
        }

        // When: one is deleted, one registers again
        await harness.PublishDeletedAsync("acme", "old-2");
        var revoked = (await harness.Replies.WaitForOneAsync(nameof(CredentialsRevoked), "acme", "old-2", _replyTimeout, harness.Diagnostics)).Message;
        await harness.PublishRegisteredAsync("acme", "old-1");
        var issued = (await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "old-1", _replyTimeout, harness.Diagnostics)).Issued;

        // Then: the deleted device is refused and its line and block are gone
        Assert.Equal("acme.old-2", ((CredentialsRevoked)revoked).Username);
        Assert.False(await harness.Broker.CanConnectAsync("acme.old-2", "old-2-password"));
        var passwd = await File.ReadAllTextAsync(harness.Broker.PasswdFile);
        var acl = await File.ReadAllTextAsync(harness.Broker.AclFile);
        Assert.DoesNotContain("acme.old-2", passwd, StringComparison.Ordinal);
        Assert.DoesNotContain("acme.old-2", acl, StringComparison.Ordinal);

        // And the device that registered again has the new form, no block, a working credential, and its old one is refused
        Assert.Equal("acme/old-1", issued.Username);
        Assert.DoesNotContain("acme.old-1", passwd, StringComparison.Ordinal);
        Assert.DoesNotContain("user acme.old-1", acl, StringComparison.Ordinal);
        Assert.DoesNotContain("user acme/old-1", acl, StringComparison.Ordinal);
        Assert.False(await harness.Broker.CanConnectAsync("acme.old-1", "old-1-password"));
        await using (var renewed = await MqttDevice.ConnectAsync(harness.Broker.Port, issued.Username, issued.Password))
        {
            Assert.True(await renewed.PublishAsync("devices/acme/old-1/telemetry", "renewed"), harness.Diagnostics());
            Assert.False(await renewed.PublishAsync("devices/globex/old-3/telemetry", "foreign"));
        }

        // And the untouched earlier-form device still works; the operators' lines are byte for byte what they were
        await using (var untouched = await MqttDevice.ConnectAsync(harness.Broker.Port, "globex.old-3", "old-3-password"))
        {
            Assert.True(await untouched.PublishAsync("devices/globex/old-3/telemetry", "still here"));
        }

        Assert.StartsWith(operatorPasswd, passwd, StringComparison.Ordinal);
        Assert.StartsWith(PipelineHarness.OperatorAclBlock, acl, StringComparison.Ordinal);
        await harness.AssertOperatorAccountIntactAsync();
        Assert.Contains("user globex.old-3\ntopic readwrite devices/globex/old-3/#\n", acl, StringComparison.Ordinal);
    }

    /// <summary>The earlier version's schema and rows, and the files it rendered: operators' lines first, then one line and one block per device.</summary>
    private static async Task SeedEarlierVersionAsync(PipelineHarness harness)
    {
        await using (var db = new ProvisioningDbContext(new DbContextOptionsBuilder<ProvisioningDbContext>().UseNpgsql(harness.Database.ConnectionString).Options))
        {
            await db.GetService<IMigrator>().MigrateAsync(EarlierVersionMigration);
        }

        var passwd = new StringBuilder(PipelineHarness.OperatorLine + "\n");
        var acl = new StringBuilder(PipelineHarness.OperatorAclBlock);
        await using var connection = new NpgsqlConnection(harness.Database.ConnectionString);
        await connection.OpenAsync();
        var registeredAt = DateTimeOffset.UtcNow.AddDays(-30);
        foreach (var (tenant, device, password) in _earlier)
        {
            var username = DeviceIdentity.LegacyUsername(tenant, device);
            var hash = MosquittoPasswordHash.Create(password, 101);
            await using var insert = new NpgsqlCommand(
                "INSERT INTO devices (tenant_id, device_id, username, status, password_hash, registered_at, updated_at) VALUES ($1, $2, $3, 1, $4, $5, $5)",
                connection);
            insert.Parameters.Add(new() { Value = tenant });
            insert.Parameters.Add(new() { Value = device });
            insert.Parameters.Add(new() { Value = username });
            insert.Parameters.Add(new() { Value = hash });
            insert.Parameters.Add(new() { Value = registeredAt });
            await insert.ExecuteNonQueryAsync();
            passwd.Append(username).Append(':').Append(hash).Append('\n');
            acl.Append("user ").Append(username).Append("\ntopic readwrite devices/").Append(tenant).Append('/').Append(device).Append("/#\n");
        }

        await File.WriteAllTextAsync(harness.Broker.PasswdFile, passwd.ToString());
        await File.WriteAllTextAsync(harness.Broker.AclFile, acl.ToString());
        await harness.Broker.ReloadAsync();
    }
}
