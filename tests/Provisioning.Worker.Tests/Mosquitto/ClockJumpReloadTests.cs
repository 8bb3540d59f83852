using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Mosquitto;
using Provisioning.Worker.Testing;
using Provisioning.Worker.Tests.Hosting;

namespace Provisioning.Worker.Tests.Mosquitto;

/// <summary>
/// The reload timeout under a jumping clock. The broker is a listener that completes TCP handshakes and answers
/// nothing (as a frozen Mosquitto does), and the signalled pid is a shell that catches SIGHUP: the probe can only
/// end at <c>Mosquitto:ReloadTimeout</c>, which counts on the injected clock.
/// </summary>
public sealed class ClockJumpReloadTests : IDisposable
{
    private static readonly TimeSpan _reloadTimeout = TimeSpan.FromSeconds(10);
    private readonly string _directory = Directory.CreateTempSubdirectory("reload-clock-").FullName;
    private readonly TcpListener _silent = new(IPAddress.Loopback, 0);
    private readonly Process _broker;

    /// <summary>A token that can be cancelled, as the projection's is: MQTTnet then applies no timeout of its own.</summary>
    private readonly CancellationTokenSource _stopping = new();

    public ClockJumpReloadTests()
    {
        _silent.Start();
        // env resets SIGHUP first: a shell cannot trap a signal ignored when it started, as it is under nohup.
        var info = new ProcessStartInfo("env") { UseShellExecute = false };
        info.ArgumentList.Add("--default-signal=HUP");
        info.ArgumentList.Add("bash");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("trap : HUP; while :; do sleep 0.2; done");
        _broker = Process.Start(info)!;
    }

    [Fact]
    public async Task A_wall_clock_stepped_by_hours_neither_ends_the_reload_early_nor_keeps_it_from_ending_at_its_timeout()
    {
        // Given
        var clock = new SteppedWallClock(new FakeTimeProvider());
        var reloader = await ReloaderAsync(clock);
        await WaitUntilCatchingSigHupAsync();
        var reload = reloader.ReloadAsync(ProbeCredential.New("provisioning-worker-probe", 1), proveTopics: false, _stopping.Token);
        await WaitUntilProbingAsync();

        // When: the wall clock steps forward, then back, by hours; the monotonic clock stays just short of the timeout
        clock.Step = TimeSpan.FromHours(5);
        await Task.Delay(300);
        clock.Step = TimeSpan.FromHours(-5);
        clock.Monotonic.Advance(_reloadTimeout - TimeSpan.FromMilliseconds(100));
        await Task.Delay(300);

        // Then: still probing
        Assert.False(reload.IsCompleted, $"the reload ended before its timeout: {reload.Exception?.InnerException?.Message}");

        // and it ends as soon as the timeout has passed, even with the probe's connection still waiting for an answer
        clock.Monotonic.Advance(TimeSpan.FromMilliseconds(200));
        var ended = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<MosquittoUnavailableException>(() => reload.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("did not take the new files within 10 s", failure.Message, StringComparison.Ordinal);
        Assert.True(ended.Elapsed < TimeSpan.FromSeconds(2), $"the reload ended {ended.Elapsed.TotalSeconds:0.0} s after its timeout had passed");
    }

    [Fact]
    public async Task A_jump_of_hours_in_the_time_that_passed_ends_the_reload_at_once()
    {
        // Given
        var clock = new FakeTimeProvider();
        var reloader = await ReloaderAsync(clock);
        await WaitUntilCatchingSigHupAsync();
        var reload = reloader.ReloadAsync(ProbeCredential.New("provisioning-worker-probe", 1), proveTopics: false, _stopping.Token);
        await WaitUntilProbingAsync();

        // When: the process was suspended for hours
        clock.Advance(TimeSpan.FromHours(5));

        // Then: one failure, now, not a probe that waits on
        var ended = Stopwatch.StartNew();
        await Assert.ThrowsAsync<MosquittoUnavailableException>(() => reload.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(ended.Elapsed < TimeSpan.FromSeconds(2), $"the reload ended {ended.Elapsed.TotalSeconds:0.0} s after the jump");
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        _broker.Kill();
        _broker.WaitForExit();
        _broker.Dispose();
        _silent.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<MosquittoReloader> ReloaderAsync(TimeProvider clock)
    {
        var pidFile = Path.Combine(_directory, "mosquitto.pid");
        await File.WriteAllTextAsync(pidFile, $"{_broker.Id}\n");
        var options = new BrokerTargetOptions
        {
            PasswdFile = Path.Combine(_directory, "passwd"),
            PidFile = pidFile,
            ProbeHost = "127.0.0.1",
            ProbePort = ((IPEndPoint)_silent.LocalEndpoint).Port,
            ReloadTimeout = _reloadTimeout,
        };
        return new MosquittoReloader(Options.Create(options), clock, NullLogger<MosquittoReloader>.Instance);
    }

    /// <summary>
    /// The probe's connection waits in the listener's backlog: the reload has taken its start time and armed its
    /// deadline, so a jump from now on counts (a jump before it would only move the start).
    /// </summary>
    private Task WaitUntilProbingAsync() =>
        Eventually.TrueAsync(_silent.Pending, TimeSpan.FromSeconds(10), "the reload did not connect its probe", poll: TimeSpan.FromMilliseconds(10));

    /// <summary>bash installs its trap a moment after it starts; a SIGHUP before would kill it, and the reloader refuses to send it then.</summary>
    private Task WaitUntilCatchingSigHupAsync() =>
        Eventually.TrueAsync(() => SignalDisposition.Catches(_broker.Id, 1) == true, TimeSpan.FromSeconds(10), "bash did not install its SIGHUP trap", poll: TimeSpan.FromMilliseconds(20));
}
