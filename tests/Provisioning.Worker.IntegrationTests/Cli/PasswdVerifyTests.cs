using System.Diagnostics;
using System.Text.Json;
using Provisioning.Contracts;
using Provisioning.Worker.Devices;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.IntegrationTests.Cli;

/// <summary><c>passwd verify</c> run as the worker process: the passwd file against a real PostgreSQL.</summary>
[Collection(ServicesCollection.Name)]
public sealed class PasswdVerifyTests(ServiceEndpoints endpoints)
{
    private static readonly DateTimeOffset _at = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);
    private static readonly string _hashA = MosquittoPasswordHash.Create("a", 1);
    private static readonly string _hashB = MosquittoPasswordHash.Create("b", 1);

    [Fact]
    public async Task A_file_with_exactly_the_active_devices_is_in_step_and_exits_0()
    {
        // Given
        await using var world = await CliWorld.CreateAsync(endpoints);
        await world.AddDeviceAsync("acme", "d1", DeviceStatus.Active, _hashA, _at);
        await world.AddDeviceAsync("acme", "d2", DeviceStatus.Active, _hashB, _at);
        var xid = await world.AddDeviceAsync("acme", "gone", DeviceStatus.Deleted, null, _at);
        await world.SetCheckpointAsync(xid + 1, 2, _at);
        await File.WriteAllTextAsync(world.PasswdFile, $"# operators\nservice:{_hashB}\nacme/d1:{_hashA}\nacme/d2:{_hashB}\n");

        // When
        var result = await world.RunAsync("passwd", "verify");

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("in step: 2 device lines in the file, 2 active devices in the database.", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("acl_file: not compared (Mosquitto:AclFile is not set", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("$7$", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_kind_of_drift_is_printed_with_its_user_and_exits_1()
    {
        // Given
        await using var world = await CliWorld.CreateAsync(endpoints);
        await world.AddDeviceAsync("acme", "missing", DeviceStatus.Active, _hashA, _at);
        await world.AddDeviceAsync("acme", "stale", DeviceStatus.Active, _hashB, _at);
        var xid = await world.AddDeviceAsync("acme", "deleted", DeviceStatus.Deleted, null, _at);
        await world.SetCheckpointAsync(xid + 1, 2, _at);
        var late = await world.AddDeviceAsync("acme", "late", DeviceStatus.Active, _hashA, _at); // after the checkpoint: not yet applied
        await File.WriteAllTextAsync(world.PasswdFile, $"acme/stale:{_hashA}\nacme/deleted:{_hashA}\nacme/stranger:{_hashA}\nacme/late:{_hashA}\n");

        // When
        var text = await world.RunAsync("passwd", "verify");
        var json = await world.RunAsync("passwd", "verify", "--json");

        // Then
        Assert.True(text.ExitCode == 1, text.ToString());
        var lines = text.Stdout.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("missing      acme/missing ", StringComparison.Ordinal) && l.EndsWith("active in the database, no line in the file", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("stale        acme/stale ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("deleted      acme/deleted ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("unknown      acme/stranger ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("unconfirmed  acme/late ", StringComparison.Ordinal));
        Assert.Contains("not in step: 1 deleted, 1 missing, 1 stale, 1 unconfirmed, 1 unknown;", text.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("$7$", text.Stdout + text.Stderr, StringComparison.Ordinal);

        Assert.True(json.ExitCode == 1, json.ToString());
        using var document = JsonDocument.Parse(json.Stdout);
        var root = document.RootElement;
        Assert.False(root.GetProperty("inStep").GetBoolean());
        Assert.Equal(xid + 1, root.GetProperty("checkpoint").GetProperty("appliedXmin").GetInt64());
        Assert.True(late >= xid + 1, "the late change must be at or after the checkpoint's xmin");
        Assert.Equal(
            ["missing acme/missing", "stale acme/stale", "deleted acme/deleted", "unconfirmed acme/late", "unknown acme/stranger"],
            root.GetProperty("drift").EnumerateArray().Select(d => $"{d.GetProperty("kind").GetString()} {d.GetProperty("username").GetString()}"));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("aclFile").ValueKind);
    }

    [Fact]
    public async Task With_an_acl_file_configured_its_device_blocks_are_compared_with_the_rules()
    {
        // Given
        await using var world = await CliWorld.CreateAsync(endpoints);
        await world.AddDeviceAsync("acme", "d1", DeviceStatus.Active, _hashA, _at);
        var xid = await world.AddDeviceAsync("acme", "d2", DeviceStatus.Active, _hashB, _at);
        await world.SetCheckpointAsync(xid + 1, 2, _at);
        await File.WriteAllTextAsync(world.PasswdFile, $"acme/d1:{_hashA}\nacme/d2:{_hashB}\n");
        var aclFile = Path.Combine(Path.GetDirectoryName(world.PasswdFile)!, "acl");
        // A rule that is no pattern (the ids not adjacent), so every device has a block to compare
        await File.WriteAllTextAsync(aclFile, "user service-pulse\ntopic readwrite #\n\nuser acme/d1\ntopic readwrite site/d1/acme/#\nuser acme/d2\ntopic readwrite #\n");
        var environment = new Dictionary<string, string?>(world.Environment) { ["Mosquitto__AclFile"] = aclFile, ["Mosquitto__DeviceTopics__0"] = "readwrite site/{deviceId}/{tenantId}/#" };

        // When
        var result = await WorkerProcess.RunToExitAsync(["passwd", "verify"], environment);
        var json = await WorkerProcess.RunToExitAsync(["passwd", "verify", "--json"], environment);

        // Then
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("in step: 2 device lines in the file", result.Stdout, StringComparison.Ordinal);
        Assert.Contains(result.Stdout.Split('\n'), l => l.StartsWith("acl stale    acme/d2 ", StringComparison.Ordinal));
        Assert.Contains($"acl_file {aclFile} not in step: 1 stale; 2 device blocks.", result.Stdout, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json.Stdout);
        var acl = document.RootElement.GetProperty("aclFile");
        Assert.False(document.RootElement.GetProperty("inStep").GetBoolean());
        Assert.Equal(["stale acme/d2"], acl.GetProperty("drift").EnumerateArray().Select(d => $"{d.GetProperty("kind").GetString()} {d.GetProperty("username").GetString()}"));
    }

    [Fact]
    public async Task A_missing_file_lacks_every_active_device()
    {
        await using var world = await CliWorld.CreateAsync(endpoints);
        await world.AddDeviceAsync("acme", "d1", DeviceStatus.Active, _hashA, _at);

        var result = await world.RunAsync("passwd", "verify");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("(does not exist)", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("no projection checkpoint", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("missing      acme/d1", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_that_refuses_connections_exits_3_and_one_that_hangs_exits_3_within_the_timeout()
    {
        // Given
        using var directory = new TempDirectory();
        var refused = FreePort.Next();
        using var silent = new SilentServer();
        Dictionary<string, string?> At(int port) => new()
        {
            ["ConnectionStrings__Provisioning"] = $"Host=127.0.0.1;Port={port};Database=provisioning;Username=u;Password=p",
            ["Mosquitto__PasswdFile"] = Path.Combine(directory.Path, "passwd"),
        };

        // When
        var down = await WorkerProcess.RunToExitAsync(["passwd", "verify"], At(refused));
        var clock = Stopwatch.StartNew();
        var hanging = await WorkerProcess.RunToExitAsync(["passwd", "verify", "--timeout", "2"], At(silent.Port), timeout: TimeSpan.FromSeconds(30));

        // Then
        Assert.True(down.ExitCode == 3, down.ToString());
        Assert.Contains($"PostgreSQL at 127.0.0.1:{refused} (database provisioning) cannot be used", down.Stderr, StringComparison.Ordinal);
        Assert.True(hanging.ExitCode == 3, hanging.ToString());
        Assert.Contains($"PostgreSQL at 127.0.0.1:{silent.Port}", hanging.Stderr, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"took {clock.Elapsed}: --timeout 2 must bound the wait (Npgsql alone would wait 15 s)");
    }

    [Fact]
    public async Task Against_a_real_worker_show_and_verify_agree_with_what_the_broker_accepted()
    {
        // Given: a device registered through the whole pipeline, its credential confirmed by Mosquitto
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        await harness.StartWorkerAsync();
        await harness.PublishRegisteredAsync("acme", "live-1");
        var issued = await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "live-1", TimeSpan.FromSeconds(30), harness.Diagnostics);
        var environment = harness.WorkerEnvironment();

        // When
        var show = await WorkerProcess.RunToExitAsync(["devices", "show", "acme", "live-1", "--json"], environment);
        var verify = await WorkerProcess.RunToExitAsync(["passwd", "verify"], environment);

        // Then
        Assert.True(show.ExitCode == 0, show.ToString());
        using (var document = JsonDocument.Parse(show.Stdout))
        {
            Assert.Equal("applied", document.RootElement.GetProperty("broker").GetProperty("state").GetString());
            Assert.Equal(0, document.RootElement.GetProperty("pendingReplies").GetArrayLength());
            Assert.Equal("active", document.RootElement.GetProperty("status").GetString());
        }

        Assert.True(verify.ExitCode == 0, verify + harness.Diagnostics());
        Assert.Contains("in step: 1 device line in the file, 1 active device in the database.", verify.Stdout, StringComparison.Ordinal);

        // When the file loses the device behind the stopped worker's back
        await harness.Worker!.StopAsync();
        var kept = (await File.ReadAllLinesAsync(harness.Broker.PasswdFile)).Where(l => !l.StartsWith("acme/live-1:", StringComparison.Ordinal));
        await File.WriteAllLinesAsync(harness.Broker.PasswdFile, kept);
        var drifted = await WorkerProcess.RunToExitAsync(["passwd", "verify"], environment);

        // Then
        Assert.True(drifted.ExitCode == 1, drifted.ToString());
        Assert.Contains("missing      acme/live-1", drifted.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(issued.Issued.Password!, show.Stdout + verify.Stdout + drifted.Stdout, StringComparison.Ordinal);
    }

    private sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("cli-verify-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
