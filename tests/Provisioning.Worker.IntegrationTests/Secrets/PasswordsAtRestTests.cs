using System.Globalization;
using System.Runtime.Versioning;
using Npgsql;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Secrets;

/// <summary>
/// No plaintext password at rest (docs/design.md "Who can read a password"): the outbox holds it encrypted with a key
/// ring the database does not hold, and a reply whose key is lost becomes a new credential, not a lost reply.
/// </summary>
[Collection(ServicesCollection.Name)]
[UnsupportedOSPlatform("windows")]
public sealed class PasswordsAtRestTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(120);

    private static readonly Dictionary<string, string?> _quickRetries = new()
    {
        ["Provisioning__MaxBackoff"] = "00:00:02",
        ["Provisioning__OutboxLease"] = "00:00:05",
    };

    [Fact]
    public async Task Replies_held_while_RabbitMQ_is_unreachable_leave_no_password_in_a_pg_dump_and_each_works_once_delivered()
    {
        // Given: the worker reaches RabbitMQ through a proxy the test can close; 200 registrations consumed while
        // Mosquitto is away, so their replies are all in the outbox
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        var amqp = harness.VirtualHost.AmqpUri;
        await using var proxy = TcpProxy.Start(amqp.Host, amqp.Port);
        await harness.StartWorkerAsync(new Dictionary<string, string?>(_quickRetries)
        {
            ["RabbitMq__Uri"] = new UriBuilder(amqp) { Port = proxy.Port }.Uri.ToString(),
        });
        await harness.Broker.StopAsync();
        var devices = Enumerable.Range(1, 200).Select(i => $"rest-{i.ToString("000", CultureInfo.InvariantCulture)}").ToList();
        foreach (var device in devices)
        {
            await harness.PublishRegisteredAsync("acme", device);
        }

        await Eventually.TrueAsync(async () => await CountAsync(harness, "SELECT count(*) FROM outbox WHERE message_type = 'CredentialsIssued'") == 200, _timeout, "the 200 registrations did not reach the outbox", harness.Diagnostics);

        // When: RabbitMQ becomes unreachable, Mosquitto comes back: the replies are released but cannot be sent
        await proxy.CloseAsync();
        await harness.Broker.StartAgainAsync();
        await Eventually.TrueAsync(async () => await CountAsync(harness, $"SELECT count(*) FROM outbox WHERE NOT {Provisioning.Worker.Outbox.ReplyRelease.HeldByBrokers} AND message_type = 'CredentialsIssued'") == 200, _timeout, "the broker did not take the 200 credentials", harness.Diagnostics);
        var dump = await PgDumpAsync(harness.Database.ConnectionString);
        Assert.Empty(harness.Replies.All);
        proxy.Open();
        var replies = await harness.Replies.WaitForAsync(all => all.Count(r => r.Type == nameof(CredentialsIssued)) >= 200, _timeout, harness.Diagnostics);

        // Then: the dump had the 200 waiting replies, and none of the 200 passwords
        Assert.All(devices, device => Assert.Contains(device, dump, StringComparison.Ordinal));
        var issued = replies.Where(r => r.Type == nameof(CredentialsIssued)).Select(r => r.Issued).ToList();
        Assert.Equal(devices.Order(StringComparer.Ordinal), issued.Select(i => i.DeviceId).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(issued, i => dump.Contains(i.Password!, StringComparison.Ordinal));
        Assert.DoesNotContain(issued, i => harness.WorkerLogs.Contains(i.Password!, StringComparison.Ordinal));
        foreach (var credential in issued)
        {
            Assert.True(await harness.Broker.CanConnectAsync(credential.Username, credential.Password), $"{credential.Username} was issued a credential the broker refuses");
        }
    }

    [Fact]
    public async Task A_key_lost_between_consume_and_send_ends_with_a_new_working_credential_the_device_was_told_and_counted()
    {
        // Given: replies written under the key ring in its default place (beside the passwd file, mode 0700), held while Mosquitto is away
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync(_quickRetries);
        var keyRing = Path.Combine(harness.Broker.Directory, "worker-keys");
        Assert.True(Directory.Exists(keyRing), $"no key ring in {keyRing}");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(keyRing));
        Assert.NotEmpty(Directory.GetFiles(keyRing, "key-*.xml"));
        await harness.Broker.StopAsync();
        var devices = Enumerable.Range(1, 5).Select(i => $"lost-{i.ToString(CultureInfo.InvariantCulture)}").ToList();
        foreach (var device in devices)
        {
            await harness.PublishRegisteredAsync("acme", device);
        }

        // and one device registered twice: its first reply is superseded by the second before either is sent
        await harness.PublishRegisteredAsync("acme", "lost-twice", DateTimeOffset.UtcNow.AddMinutes(-1));
        await harness.PublishRegisteredAsync("acme", "lost-twice", DateTimeOffset.UtcNow);
        await Eventually.TrueAsync(async () => await CountAsync(harness, "SELECT count(*) FROM outbox WHERE message_type = 'CredentialsIssued'") == 7, _timeout, "the registrations did not reach the outbox", harness.Diagnostics);

        // When: the worker stops, the key ring is lost, and a worker starts with a new one
        Assert.Equal(0, await harness.Worker!.StopAsync());
        Directory.Delete(keyRing, recursive: true);
        await harness.Broker.StartAgainAsync();
        var worker = await harness.StartWorkerAsync(_quickRetries);
        var replies = await harness.Replies.WaitForAsync(all => all.Count(r => r.Type == nameof(CredentialsIssued)) >= 7, _timeout, harness.Diagnostics);

        // Then: every registration answered; each device's last credential is one the broker accepts (the superseded
        // one, as any reply superseded before delivery, no longer works); the loss is logged and counted, nothing left behind
        var issued = replies.Where(r => r.Type == nameof(CredentialsIssued)).Select(r => r.Issued).ToList();
        Assert.Equal([.. devices, "lost-twice", "lost-twice"], issued.Select(i => i.DeviceId).Order(StringComparer.Ordinal));
        foreach (var credential in issued.GroupBy(i => i.DeviceId).Select(g => g.Last()))
        {
            Assert.True(await harness.Broker.CanConnectAsync(credential.Username, credential.Password), $"{credential.Username} was told a credential the broker refuses");
        }

        var twice = issued.Where(i => i.DeviceId == "lost-twice").ToList();
        Assert.NotEqual(twice[0].Password, twice[1].Password);
        Assert.False(await harness.Broker.CanConnectAsync(twice[0].Username, twice[0].Password), "the superseded reply's password works: the later credential was overwritten");
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        Assert.Equal(6, await WorkerHttp.MetricAsync(address, "provisioning_outbox_unreadable_passwords_total", "outcome=\"reissued\""));
        Assert.Equal(1, await WorkerHttp.MetricAsync(address, "provisioning_outbox_unreadable_passwords_total", "outcome=\"superseded\""));
        Assert.Contains("its password cannot be decrypted", harness.WorkerLogs, StringComparison.Ordinal);
        Assert.DoesNotContain(issued, i => harness.WorkerLogs.Contains(i.Password!, StringComparison.Ordinal));
        await Eventually.TrueAsync(async () => await CountAsync(harness, "SELECT count(*) FROM outbox") == 0, _timeout, "replies were left in the outbox", harness.Diagnostics);
    }

    [Theory]
    [InlineData("loose")]
    [InlineData("no-parent")]
    public async Task A_key_ring_others_may_enter_or_that_cannot_be_made_stops_the_worker_at_start_naming_the_key(string problem)
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        var directory = Path.Combine(harness.Broker.Directory, problem == "loose" ? "loose-keys" : "missing/keys");
        if (problem == "loose")
        {
            Directory.CreateDirectory(directory);
            File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        }

        var environment = harness.WorkerEnvironment();
        environment["Secrets__KeyRingDirectory"] = directory;

        // When
        var result = await WorkerProcess.RunToExitAsync([], environment, timeout: TimeSpan.FromSeconds(60));

        // Then
        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"Secrets:KeyRingDirectory is '{directory}'", result.ToString(), StringComparison.Ordinal);
    }

    private static async Task<long> CountAsync(PipelineHarness harness, string sql)
    {
        await using var connection = new NpgsqlConnection(harness.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A full plain-text dump of the database, as a backup would hold it.</summary>
    private static async Task<string> PgDumpAsync(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var result = await ProcessRunner.RunAsync(
            "pg_dump",
            ["--no-owner", "--host", builder.Host!, "--port", builder.Port.ToString(CultureInfo.InvariantCulture), "--username", builder.Username!, "--dbname", builder.Database!],
            environment: new Dictionary<string, string?> { ["PGPASSWORD"] = builder.Password },
            timeout: TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"pg_dump failed (Debian's postgresql-client provides it; scripts/deps.sh installs it): {result}");
        Assert.Contains("COPY public.outbox", result.Stdout, StringComparison.Ordinal);
        return result.Stdout;
    }
}
