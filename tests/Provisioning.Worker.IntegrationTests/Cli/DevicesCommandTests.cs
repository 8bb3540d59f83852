using System.Diagnostics;
using System.Text.Json;
using Provisioning.Worker.Devices;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.IntegrationTests.Cli;

/// <summary><c>devices show|list</c> run as the worker process against a real PostgreSQL holding rows as the worker writes them.</summary>
[Collection(ServicesCollection.Name)]
public sealed class DevicesCommandTests(ServiceEndpoints endpoints)
{
    private static readonly DateTimeOffset _registered = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset _updated = new(2026, 11, 23, 9, 0, 1, 250, TimeSpan.Zero);
    private static readonly string _hash = MosquittoPasswordHash.Create("device-password", 1);

    [Fact]
    public async Task Show_reports_status_times_credential_broker_and_each_pending_reply_without_hash_or_password()
    {
        // Given
        await using var world = await CliWorld.CreateAsync(endpoints);
        var xid = await world.AddDeviceAsync("acme", "pump-7", DeviceStatus.Active, _hash, _updated, registeredAt: _registered);
        await world.SetCheckpointAsync(xid + 1, 1, _updated.AddSeconds(1));
        var waiting = await world.AddReplyAsync("acme", "pump-7", "CredentialsIssued", awaitsBroker: true, _updated);
        var retrying = await world.AddReplyAsync("acme", "pump-7", "CredentialsIssued", awaitsBroker: false, _updated, attempts: 3, nextAttemptAt: _updated.AddSeconds(30), lastError: "Connection refused");

        // When
        var result = await world.RunAsync("devices", "show", "acme", "pump-7");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty(result.Stderr);
        var lines = result.Stdout.Split('\n');
        Assert.Contains("device      acme/pump-7", lines);
        Assert.Contains("username    acme/pump-7", lines);
        Assert.Contains("status      active", lines);
        Assert.Contains("updated     2026-11-23T09:00:01.250Z", lines);
        Assert.Contains("credential  issued 2026-11-23T09:00:01.250Z", lines);
        Assert.Contains("topics      []", lines);
        Assert.Contains("replies     2 pending", lines);
        Assert.Contains(lines, l => l.StartsWith("registered  2026-11-23T09:00:00.000Z", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"broker      applied: the broker runs with its credential (change xid {xid} < checkpoint xmin {xid + 1}", StringComparison.Ordinal));
        Assert.Contains($"  #{waiting} CredentialsIssued, created 2026-11-23T09:00:01.250Z: waiting for the broker (released once the passwd projection has applied the change)", lines);
        Assert.Contains($"  #{retrying} CredentialsIssued, created 2026-11-23T09:00:01.250Z: waiting for RabbitMQ, 3 attempts so far, next at 2026-11-23T09:00:31.250Z, last error: Connection refused", lines);
        AssertNoSecret(result);
    }

    [Fact]
    public async Task Show_lists_the_topics_the_device_was_told_when_topic_authorization_is_on()
    {
        // Given: the worker's configuration with an acl_file and two rules
        await using var world = await CliWorld.CreateAsync(endpoints);
        await world.AddDeviceAsync("acme", "pump-7", DeviceStatus.Active, _hash, _updated, registeredAt: _registered);
        var environment = world.Environment;
        environment["Mosquitto__AclFile"] = "/nonexistent/acl";
        environment["Mosquitto__DeviceTopics__0"] = "write telemetry/{tenantId}/{deviceId}";
        environment["Mosquitto__DeviceTopics__1"] = "read commands/{username}/#";

        // When
        var result = await WorkerProcess.RunToExitAsync(["devices", "show", "acme", "pump-7"], environment);

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("topics      write telemetry/acme/pump-7, read commands/acme/pump-7/#", result.Stdout.Split('\n'));
    }

    [Fact]
    public async Task Show_json_gives_the_same_facts_to_scripts()
    {
        // Given
        await using var world = await CliWorld.CreateAsync(endpoints);
        var xid = await world.AddDeviceAsync("acme", "pump-7", DeviceStatus.Active, _hash, _updated, registeredAt: _registered);
        await world.SetCheckpointAsync(xid, 1, _updated);
        await world.AddReplyAsync("acme", "pump-7", "CredentialsIssued", awaitsBroker: true, _updated);

        // When
        var result = await world.RunAsync("devices", "show", "acme", "pump-7", "--json");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal("acme", root.GetProperty("tenantId").GetString());
        Assert.Equal("pump-7", root.GetProperty("deviceId").GetString());
        Assert.Equal("acme/pump-7", root.GetProperty("username").GetString());
        Assert.Equal("active", root.GetProperty("status").GetString());
        Assert.Equal(_updated, root.GetProperty("credentialIssuedAt").GetDateTimeOffset());
        Assert.Equal(_registered, root.GetProperty("registeredAt").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("deletedAt").ValueKind);
        Assert.Equal(0, root.GetProperty("topics").GetArrayLength());
        Assert.Equal("pending", root.GetProperty("broker").GetProperty("state").GetString());
        Assert.Equal(xid, root.GetProperty("broker").GetProperty("changedXid").GetInt64());
        var reply = Assert.Single(root.GetProperty("pendingReplies").EnumerateArray().ToList());
        Assert.Equal("broker", reply.GetProperty("waitingFor").GetString());
        Assert.Equal("CredentialsIssued", reply.GetProperty("type").GetString());
        AssertNoSecret(result);
    }

    [Fact]
    public async Task Without_a_checkpoint_the_broker_state_is_unknown_and_a_deleted_device_has_no_credential()
    {
        // Given
        await using var world = await CliWorld.CreateAsync(endpoints);
        await world.AddDeviceAsync("acme", "old", DeviceStatus.Deleted, null, _updated, registeredAt: _registered, deletedAt: _updated);

        // When
        var text = await world.RunAsync("devices", "show", "acme", "old");
        var json = await world.RunAsync("devices", "show", "acme", "old", "--json");

        // Then
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("status      deleted\n", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("credential  none (the device is deleted)\n", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("broker      unknown: no projection checkpoint", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("replies     none pending\n", text.Stdout, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json.Stdout);
        Assert.Equal("unknown", document.RootElement.GetProperty("broker").GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("credentialIssuedAt").ValueKind);
    }

    [Fact]
    public async Task Show_of_a_device_the_worker_never_saw_exits_1_naming_it()
    {
        await using var world = await CliWorld.CreateAsync(endpoints);

        var result = await world.RunAsync("devices", "show", "acme", "nobody");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("device acme/nobody is not in PostgreSQL at", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData("acme corp", "pump-7", "tenantId \"acme corp\" contains ' '; only A-Z, a-z, 0-9, '_' and '-' are allowed")]
    [InlineData("acme", "pump.7", "deviceId \"pump.7\" contains '.'")]
    [InlineData("acme", "", "deviceId is empty")]
    public async Task An_invalid_id_exits_2_naming_the_id_and_the_rule_before_touching_the_database(string tenant, string device, string expected)
    {
        // Given: a database that does not exist; the ids are refused first
        var environment = new Dictionary<string, string?> { ["ConnectionStrings__Provisioning"] = $"Host=127.0.0.1;Port={FreePort.Next()};Database=none;Username=x;Password=y" };

        // When
        var result = await WorkerProcess.RunToExitAsync(["devices", "show", tenant, device], environment);

        // Then
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_filters_by_tenant_and_status_orders_by_id_and_honours_the_limit()
    {
        // Given
        await using var world = await CliWorld.CreateAsync(endpoints);
        await world.AddDeviceAsync("acme", "b", DeviceStatus.Active, _hash, _updated);
        await world.AddDeviceAsync("acme", "a", DeviceStatus.Active, _hash, _updated);
        await world.AddDeviceAsync("acme", "c", DeviceStatus.Deleted, null, _updated);
        var lastXid = await world.AddDeviceAsync("globex", "a", DeviceStatus.Active, _hash, _updated);
        await world.SetCheckpointAsync(lastXid, 3, _updated);
        await world.AddReplyAsync("acme", "b", "CredentialsIssued", awaitsBroker: false, _updated);

        // When
        var all = await world.RunAsync("devices", "list");
        var acmeActive = await world.RunAsync("devices", "list", "--tenant", "acme", "--status", "active");
        var first = await world.RunAsync("devices", "list", "--limit", "1");
        var json = await world.RunAsync("devices", "list", "--tenant", "globex", "--json");

        // Then
        Assert.True(all.ExitCode == 0, all.ToString());
        var rows = all.Stdout.TrimEnd('\n').Split('\n');
        Assert.StartsWith("TENANT/DEVICE  STATUS   UPDATED", rows[0], StringComparison.Ordinal);
        Assert.Equal(["acme/a", "acme/b", "acme/c", "globex/a"], rows[1..].Select(r => r.Split(' ')[0]));
        Assert.Equal("acme/b         active   2026-11-23T09:00:01.250Z  applied  1", rows[2]);
        Assert.Equal("globex/a       active   2026-11-23T09:00:01.250Z  pending  0", rows[4]);
        Assert.Contains(" deleted ", rows[3], StringComparison.Ordinal);

        Assert.True(acmeActive.ExitCode == 0, acmeActive.ToString());
        Assert.Equal(["acme/a", "acme/b"], acmeActive.Stdout.TrimEnd('\n').Split('\n')[1..].Select(r => r.Split(' ')[0]));

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(2, first.Stdout.TrimEnd('\n').Split('\n').Length);
        Assert.Contains("only the first 1 are shown", first.Stderr, StringComparison.Ordinal);

        using var document = JsonDocument.Parse(json.Stdout);
        var device = Assert.Single(document.RootElement.EnumerateArray().ToList());
        Assert.Equal("globex", device.GetProperty("tenantId").GetString());
        Assert.Equal("pending", device.GetProperty("broker").GetString());
        Assert.Equal(0, device.GetProperty("pendingReplies").GetInt32());
    }

    [Fact]
    public async Task List_with_no_match_exits_1_and_prints_an_empty_json_array()
    {
        await using var world = await CliWorld.CreateAsync(endpoints);
        await world.AddDeviceAsync("acme", "a", DeviceStatus.Active, _hash, _updated);

        var result = await world.RunAsync("devices", "list", "--tenant", "globex", "--json");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal("[]", result.Stdout.Trim());
        Assert.Contains("no device matches", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("list", "--status", "gone")]
    [InlineData("list", "--limit", "0")]
    [InlineData("list", "--tenant", "a/b")]
    [InlineData("show", "acme")]
    [InlineData("frobnicate")]
    [InlineData("show", "acme", "pump-7", "--timeout", "0")]
    public async Task Bad_arguments_exit_2_with_a_reason(params string[] args)
    {
        var result = await WorkerProcess.RunToExitAsync(["devices", .. args], new Dictionary<string, string?> { ["ConnectionStrings__Provisioning"] = $"Host=127.0.0.1;Port={FreePort.Next()}" });

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("error: ", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task An_invalid_connection_string_exits_2_naming_the_key()
    {
        var result = await WorkerProcess.RunToExitAsync(["devices", "list"], new Dictionary<string, string?> { ["ConnectionStrings__Provisioning"] = "Database=provisioning" });

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("ConnectionStrings:Provisioning has no Host", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("show", "acme", "pump-7")]
    [InlineData("list")]
    public async Task A_database_that_refuses_connections_exits_3_naming_the_server(params string[] args)
    {
        // Given
        var port = FreePort.Next();
        var environment = new Dictionary<string, string?> { ["ConnectionStrings__Provisioning"] = $"Host=127.0.0.1;Port={port};Database=provisioning;Username=u;Password=secret-db-pw" };

        // When
        var result = await WorkerProcess.RunToExitAsync(["devices", .. args], environment);

        // Then
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains($"PostgreSQL at 127.0.0.1:{port} (database provisioning) cannot be used", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-db-pw", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_that_never_answers_exits_3_within_the_timeout()
    {
        // Given
        using var silent = new SilentServer();
        var environment = new Dictionary<string, string?> { ["ConnectionStrings__Provisioning"] = $"Host=127.0.0.1;Port={silent.Port};Database=provisioning;Username=u;Password=p" };
        var clock = Stopwatch.StartNew();

        // When
        var result = await WorkerProcess.RunToExitAsync(["devices", "show", "acme", "pump-7", "--timeout", "2"], environment, timeout: TimeSpan.FromSeconds(30));

        // Then
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains($"PostgreSQL at 127.0.0.1:{silent.Port} (database provisioning)", result.Stderr, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"took {clock.Elapsed}: --timeout 2 must bound the wait (Npgsql alone would wait 15 s)");
    }

    [Fact]
    public async Task A_database_without_the_worker_schema_exits_3_saying_so()
    {
        await using var database = await TestDatabase.CreateAsync(endpoints);

        var result = await WorkerProcess.RunToExitAsync(["devices", "list"], new Dictionary<string, string?> { ["ConnectionStrings__Provisioning"] = database.ConnectionString });

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("has no worker schema", result.Stderr, StringComparison.Ordinal);
    }

    private static void AssertNoSecret(ProcessResult result)
    {
        Assert.DoesNotContain(CliWorld.ReplyPassword, result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(_hash.Split('$')[4], result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("$7$", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }
}
