using System.Diagnostics;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>The passwd file and the Mosquitto broker misbehave: the worker holds the replies and catches up.</summary>
[Collection(FaultsCollection.Name)]
public sealed class PasswdAndBrokerFaultTests(ServiceEndpoints endpoints, ITestOutputHelper output)
{
    private static readonly TimeSpan _outage = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The tests run as root, which permissions do not stop; an immutable directory (<c>chattr +i</c>, ext4/xfs/btrfs)
    /// refuses every create, rename and delete in it, root's included, so the worker cannot put a new file in place.
    /// Writes into files that already exist still work: Mosquitto's log and the lock file are unaffected.
    /// </summary>
    [Fact]
    public async Task A_passwd_directory_that_cannot_be_written_holds_the_replies_rejects_nothing_and_the_file_catches_up()
    {
        // Given
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "rodir", devices: 50, TimeSpan.FromMilliseconds(15), seed: 7001).Start();
        await load.WaitForPublishedAsync(60);

        // When
        var directory = world.Broker.Directory;
        await ChattrAsync("+i", directory);
        HashSet<Guid> duringOutage;
        try
        {
            AssertWriteRefused(directory);
            var from = load.Published.Count;
            await Task.Delay(_outage);
            duringOutage = load.Published.Skip(from).Select(m => m.Id).ToHashSet();

            // Then: the projection failed and no credential or revocation announced a change the broker does not have
            Assert.True(await world.ProjectionFailuresAsync() > 0, $"no projection cycle failed while the directory was immutable\n{world.Diagnostics()}");
            AssertNoChangeAnnounced(world, duringOutage);
        }
        finally
        {
            await ChattrAsync("-i", directory);
        }

        await load.WaitForPublishedAsync(load.Published.Count + 60);
        await load.StopAsync();
        await InvariantChecker.CheckAsync(world, "passwd directory not writable (chattr +i)", 1, load.Published, clock.Elapsed);
        Assert.DoesNotContain(world.Replies.All, r => r.Type == nameof(ProvisioningRejected) && r.Rejected.Code != RejectionCodes.Stale);
        Assert.NotEmpty(duringOutage);
    }

    [Fact]
    public async Task Mosquitto_not_running_when_a_reload_is_due_holds_the_replies_until_it_is_back()
    {
        // Given
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "mqdown", devices: 50, TimeSpan.FromMilliseconds(15), seed: 7002).Start();
        await load.WaitForPublishedAsync(60);

        // When
        await world.Broker.StopAsync();
        var from = load.Published.Count;
        await Task.Delay(_outage);

        // Then: the projection reports the broker down (a reload signalled just before the stop waits for its probe
        // login until the connection is refused)
        await Eventually.TrueAsync(async () => await world.ProjectionFailuresAsync() > 0, TimeSpan.FromSeconds(15), "the projection did not report Mosquitto down", world.Diagnostics);

        var duringOutage = load.Published.Skip(from).Select(m => m.Id).ToHashSet();
        AssertNoChangeAnnounced(world, duringOutage);
        await world.Broker.StartAgainAsync();
        await load.WaitForPublishedAsync(load.Published.Count + 60);
        await load.StopAsync();
        await InvariantChecker.CheckAsync(world, "Mosquitto not running when a reload is due", 1, load.Published, clock.Elapsed);
        Assert.NotEmpty(duringOutage);
    }

    [Fact]
    public async Task An_operator_setting_passwords_while_the_worker_rewrites_keeps_every_line_of_both()
    {
        // Given
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        await world.StartWorkerAsync();
        await using var load = new LoadGenerator(world.Bus, "opset", devices: 60, TimeSpan.FromMilliseconds(8), seed: 7003).Start();
        await load.WaitForPublishedAsync(50);

        // When: the operator command sets (and resets: same line length, only the bytes differ) three accounts, two at a time
        var environment = new Dictionary<string, string?> { ["Mosquitto__PasswdFile"] = world.Broker.PasswdFile };
        var passwords = new Dictionary<string, string>();
        const int Sets = 8;
        for (var i = 0; i < Sets; i += 2)
        {
            var pair = Enumerable.Range(i, 2).Select(n => ($"operator-{n % 3}", $"operator-password-{n}-{Guid.NewGuid():N}")).ToList();
            var results = await Task.WhenAll(pair.Select(p =>
                WorkerProcess.RunToExitAsync(["passwd", "set", p.Item1, "--password-stdin"], environment, stdin: p.Item2 + "\n")));
            for (var n = 0; n < pair.Count; n++)
            {
                Assert.True(results[n].ExitCode == 0, $"passwd set {pair[n].Item1} failed: {results[n]}");
                passwords[pair[n].Item1] = pair[n].Item2;
            }
        }

        await load.StopAsync();

        // Then: the operator's lines (the worker reloads the broker once it sees the file changed) and the devices'
        await InvariantChecker.CheckAsync(
            world,
            "operator passwd set during rewrites",
            Sets,
            load.Published,
            clock.Elapsed,
            new CheckOptions { OperatorAccounts = [.. passwords.Select(p => (p.Key, p.Value))] });
    }

    /// <summary>No CredentialsIssued or CredentialsRevoked answered a message published while the fault lasted.</summary>
    internal static void AssertNoChangeAnnounced(FaultWorld world, IReadOnlySet<Guid> published)
    {
        var early = world.Replies.All
            .Where(r => r.InitiatorId is { } id && published.Contains(id) && r.Type is nameof(CredentialsIssued) or nameof(CredentialsRevoked))
            .ToList();
        Assert.True(early.Count == 0, $"{early.Count} replies announced a change the broker could not have: {string.Join(", ", early.Select(r => $"{r.Type} {r.TenantId}/{r.DeviceId}"))}");
    }

    private static void AssertWriteRefused(string directory)
    {
        var probe = Path.Combine(directory, "probe");
        var refused = false;
        try
        {
            File.WriteAllText(probe, "x");
            File.Delete(probe);
        }
        catch (UnauthorizedAccessException)
        {
            refused = true;
        }
        catch (IOException)
        {
            refused = true;
        }

        Assert.True(refused, $"chattr +i did not stop root from creating a file in {directory}: this scenario needs a file system with the immutable attribute (ext4, xfs, btrfs)");
    }

    private static async Task ChattrAsync(string flag, string path)
    {
        var result = await ProcessRunner.RunAsync(RequiredTools.Find("chattr"), [flag, path]);
        Assert.True(result.ExitCode == 0, $"chattr {flag} {path} failed (needs root and a file system with the immutable attribute): {result}");
    }
}
