using System.Diagnostics;
using System.Globalization;
using System.Net;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// Mosquitto frozen (SIGSTOP), then running again (SIGCONT), under the steady load of the other scenarios. A frozen
/// broker closes nothing: its port still completes TCP handshakes from the listen backlog, its pid is alive to
/// <c>kill(pid, 0)</c>, a SIGHUP sent to it stays pending. The reload's probe must give up at
/// <c>Mosquitto:ReloadTimeout</c>, replies wait, <c>/health/ready</c> names <c>mosquitto-reload</c>, and everything
/// recovers after SIGCONT without a restart.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class FrozenBrokerFaultTests(ServiceEndpoints endpoints, ITestOutputHelper output)
{
    private static readonly TimeSpan _reloadTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan _frozenFor = TimeSpan.FromSeconds(12);

    [Fact]
    public async Task Mosquitto_frozen_during_a_reload_fails_the_reload_at_its_timeout_holds_the_replies_and_recovers_after_SIGCONT()
    {
        // Given
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        world.WorkerSettings["Mosquitto__ReloadTimeout"] = "00:00:03";
        var worker = await world.StartWorkerAsync();
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        await using var load = new LoadGenerator(world.Bus, "mqfrozen", devices: 50, TimeSpan.FromMilliseconds(15), seed: 9001).Start();
        await load.WaitForPublishedAsync(60);

        // When: frozen the moment the worker puts a new passwd file in place, before or just after its SIGHUP
        var written = File.GetLastWriteTimeUtc(world.Broker.PasswdFile);
        await Eventually.TrueAsync(() => File.GetLastWriteTimeUtc(world.Broker.PasswdFile) != written, TimeSpan.FromSeconds(10), "the worker wrote no passwd file under load");
        await world.Broker.FreezeAsync();
        var frozen = Stopwatch.StartNew();
        var from = load.Published.Count;

        // Then
        var (unready, failing) = await ExpectReloadNamedUnreadyAsync(world, address, frozen);
        await FreezeUntilAsync(frozen);
        var duringFreeze = load.Published.Skip(from).Select(m => m.Id).ToHashSet();
        PasswdAndBrokerFaultTests.AssertNoChangeAnnounced(world, duringFreeze);
        var failures = CountFailures(world);
        var pending = PendingSignals(world);
        await world.Broker.ThawAsync();

        await RecoverAsync(world, worker, address, load, "Mosquitto frozen (SIGSTOP) during a reload", () => load.Published, clock);
        output.WriteLine($"503 after {unready.TotalSeconds:0.0} s frozen ({failing}); {failures} failed cycles while frozen; signals pending at SIGCONT: {pending}");
        Assert.NotEmpty(duringFreeze);
    }

    [Fact]
    public async Task Mosquitto_frozen_while_idle_fails_the_next_reload_at_its_timeout_holds_the_replies_and_recovers_after_SIGCONT()
    {
        // Given: a worker that has applied everything and sits idle
        var clock = Stopwatch.StartNew();
        await using var world = await FaultWorld.StartAsync(endpoints, output);
        world.WorkerSettings["Mosquitto__ReloadTimeout"] = "00:00:03";
        var worker = await world.StartWorkerAsync();
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        IReadOnlyList<PublishedMessage> earlier;
        await using (var before = new LoadGenerator(world.Bus, "mqidle-a", devices: 30, TimeSpan.FromMilliseconds(15), seed: 9002).Start())
        {
            await before.WaitForPublishedAsync(40);
            await before.StopAsync();
            var published = before.Published.Select(m => m.Id).ToHashSet();
            await world.Replies.WaitForAsync(r => published.IsSubsetOf(r.Where(x => x.InitiatorId is not null).Select(x => x.InitiatorId!.Value)), TimeSpan.FromSeconds(60), world.Diagnostics);
            earlier = before.Published;
        }

        // When: frozen while nothing is due, then the load comes back
        await world.Broker.FreezeAsync();
        var frozen = Stopwatch.StartNew();

        // Then: not ready while idle already (kill(pid, 0) succeeds on a stopped process; /proc tells the state)
        var (idleStatus, idleBody) = await WorkerHttp.PollAsync(
            address,
            "/health/ready",
            (s, b) => s == HttpStatusCode.ServiceUnavailable && WorkerHttp.Checks(b).TryGetValue("mosquitto-reload", out var check) && check.Description.Contains("is stopped", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        var idleUnready = frozen.Elapsed;
        Assert.True(idleStatus == HttpStatusCode.ServiceUnavailable, $"/health/ready stayed {(int)idleStatus} with an idle Mosquitto frozen for {idleUnready.TotalSeconds:0.0} s: {idleBody}");
        await using var load = new LoadGenerator(world.Bus, "mqidle-b", devices: 40, TimeSpan.FromMilliseconds(15), seed: 9003).Start();

        // and when a reload is due
        var (unready, failing) = await ExpectReloadNamedUnreadyAsync(world, address, frozen);
        await FreezeUntilAsync(frozen);
        var duringFreeze = load.Published.Select(m => m.Id).ToHashSet();
        PasswdAndBrokerFaultTests.AssertNoChangeAnnounced(world, duringFreeze);
        var failures = CountFailures(world);
        var pending = PendingSignals(world);
        await world.Broker.ThawAsync();

        await RecoverAsync(world, worker, address, load, "Mosquitto frozen (SIGSTOP) while idle when a reload is due", () => [.. earlier, .. load.Published], clock);
        output.WriteLine($"/health/ready while frozen and idle: {(int)idleStatus} after {idleUnready.TotalSeconds:0.0} s; 503 after {unready.TotalSeconds:0.0} s frozen ({failing}); {failures} failed cycles while frozen; signals pending at SIGCONT: {pending}");
        Assert.NotEmpty(duringFreeze);
    }

    /// <summary>Not ready, naming the reload, within the reload timeout and a cycle's backoff; the reload's own message says it timed out.</summary>
    private async Task<(TimeSpan Unready, string Failing)> ExpectReloadNamedUnreadyAsync(FaultWorld world, Uri address, Stopwatch frozen)
    {
        var (status, body) = await WorkerHttp.PollAsync(
            address,
            "/health/ready",
            (s, b) => s == HttpStatusCode.ServiceUnavailable && WorkerHttp.Failing(b).Contains("mosquitto-reload"),
            _reloadTimeout + TimeSpan.FromSeconds(10));
        var unready = frozen.Elapsed;
        Assert.True(status == HttpStatusCode.ServiceUnavailable, $"/health/ready stayed {(int)status} with Mosquitto frozen for {unready.TotalSeconds:0.0} s: {body}\n{world.Diagnostics()}");
        var failing = string.Join(",", WorkerHttp.Failing(body));
        Assert.Contains("mosquitto-reload", failing, StringComparison.Ordinal);
        Assert.True(unready < _reloadTimeout + TimeSpan.FromSeconds(5), $"/health/ready took {unready.TotalSeconds:0.0} s to report the frozen broker");
        output.WriteLine($"/health/ready {(int)status} after {unready.TotalSeconds:0.0} s frozen: {body}");

        // and the reload that was due gives up at its timeout
        await Eventually.TrueAsync(
            () => Task.FromResult(string.Concat(world.Workers.Select(w => w.Stdout)).Contains("did not take the new files within 3 s", StringComparison.Ordinal)),
            _reloadTimeout + TimeSpan.FromSeconds(10),
            $"no reload gave up at its 3 s timeout within {(_reloadTimeout + TimeSpan.FromSeconds(10)).TotalSeconds} s of freeze\n{world.Diagnostics()}");
        output.WriteLine($"a reload gave up at its timeout after {frozen.Elapsed.TotalSeconds:0.0} s frozen");
        return (unready, failing);
    }

    private static async Task FreezeUntilAsync(Stopwatch frozen)
    {
        while (frozen.Elapsed < _frozenFor)
        {
            await Task.Delay(100);
        }
    }

    private static async Task RecoverAsync(FaultWorld world, WorkerProcess worker, Uri address, LoadGenerator load, string scenario, Func<IReadOnlyCollection<PublishedMessage>> published, Stopwatch clock)
    {
        await load.WaitForPublishedAsync(load.Published.Count + 40);
        await load.StopAsync();
        var (status, body) = await WorkerHttp.PollAsync(address, "/health/ready", (s, _) => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        Assert.True(status == HttpStatusCode.OK, $"/health/ready did not recover after SIGCONT: {body}\n{world.Diagnostics()}");
        Assert.Same(worker, Assert.Single(world.Workers));
        Assert.False(worker.HasExited);
        Assert.False(world.Broker.State.StartsWith('T'), $"mosquitto is still stopped: {world.Broker.State}");
        await InvariantChecker.CheckAsync(world, scenario, 1, published(), clock.Elapsed);
    }

    private static int CountFailures(FaultWorld world) =>
        world.Workers.Sum(w => w.Stdout.Split('\n').Count(l => l.Contains("Passwd projection failed", StringComparison.Ordinal)));

    /// <summary>The broker's pending signals (ShdPnd): a SIGHUP sent while it is stopped waits there, once however often it was sent.</summary>
    private static string PendingSignals(FaultWorld world)
    {
        var pid = File.ReadAllText(world.Broker.PidFile).Trim();
        var line = File.ReadAllLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("ShdPnd:", StringComparison.Ordinal)) ?? "ShdPnd: ?";
        var mask = ulong.Parse(line["ShdPnd:".Length..].Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return (mask & 1) != 0 ? "SIGHUP" : $"none (0x{mask:x})";
    }
}
