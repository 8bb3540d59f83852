using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.IntegrationTests.Mosquitto;

/// <summary>The reload signal against real processes.</summary>
public sealed class MosquittoReloaderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("reloader-").FullName;

    [Fact]
    public async Task A_process_that_does_not_handle_SIGHUP_yet_is_not_signalled_so_a_starting_broker_is_not_killed()
    {
        // Given: the pid file names a process with SIGHUP's default action (terminate), as Mosquitto is between
        // writing its pid file and installing its handler
        using var starting = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        try
        {
            var pidFile = Path.Combine(_directory, "mosquitto.pid");
            await File.WriteAllTextAsync(pidFile, $"{starting.Id}\n");
            var reloader = new MosquittoReloader(
                Options.Create(new BrokerTargetOptions { PasswdFile = Path.Combine(_directory, "passwd"), PidFile = pidFile, ProbeHost = "127.0.0.1", ProbePort = 1, ReloadTimeout = TimeSpan.FromSeconds(1) }),
                TimeProvider.System,
                NullLogger<MosquittoReloader>.Instance);

            // When
            var refused = await Assert.ThrowsAsync<MosquittoUnavailableException>(() => reloader.ReloadAsync(ProbeCredential.New("provisioning-worker-probe", 1), proveTopics: false, CancellationToken.None));

            // Then: a transient fault (retried, replies wait), and the process lives on
            Assert.Contains("does not handle SIGHUP", refused.Message, StringComparison.Ordinal);
            await Task.Delay(200);
            Assert.False(starting.HasExited, $"the process was killed (exit {(starting.HasExited ? starting.ExitCode : 0)})");
        }
        finally
        {
            starting.Kill();
        }
    }

    [Fact]
    public async Task A_broker_that_refuses_connections_during_the_reload_fails_it_at_once_rather_than_at_the_timeout()
    {
        // Given: a real Mosquitto to signal, and the probe pointed at a port nobody listens on (the broker gone)
        await using var broker = await MosquittoBroker.StartAsync();
        var reloadTimeout = TimeSpan.FromSeconds(20);
        var reloader = new MosquittoReloader(
            Options.Create(new BrokerTargetOptions { PasswdFile = broker.PasswdFile, PidFile = broker.PidFile, ProbeHost = "127.0.0.1", ProbePort = FreePort.Next(), ReloadTimeout = reloadTimeout }),
            TimeProvider.System,
            NullLogger<MosquittoReloader>.Instance);
        var clock = Stopwatch.StartNew();

        // When
        var refused = await Assert.ThrowsAsync<MosquittoUnavailableException>(() => reloader.ReloadAsync(ProbeCredential.New("provisioning-worker-probe", 1), proveTopics: false, CancellationToken.None));

        // Then: the projection can report the broker down and back off now, not after the whole reload timeout
        Assert.Contains("stopped listening", refused.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < reloadTimeout / 4, $"took {clock.Elapsed}");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
