using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// The reload against a real Mosquitto frozen with SIGSTOP: its port still completes TCP handshakes (the kernel fills
/// the listen backlog) but nothing answers, so the probe's CONNECT waits for a CONNACK that does not come. The reload
/// gets a cancellable token, as the projection passes its own: MQTTnet applies its CONNECT timeout only to a token that
/// cannot be cancelled, so without the reloader's own deadline the probe would wait until SIGCONT.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class FrozenBrokerReloaderTests
{
    [Fact]
    public async Task The_probe_into_a_frozen_broker_gives_up_at_the_reload_timeout_not_at_the_MQTT_client_timeout()
    {
        // Given: a reload timeout shorter than the probe client's own 5 s CONNECT timeout
        await using var broker = await MosquittoBroker.StartAsync();
        var reloadTimeout = TimeSpan.FromSeconds(1.5);
        var reloader = Reloader(broker, reloadTimeout);
        await broker.FreezeAsync();
        try
        {
            // When
            var clock = Stopwatch.StartNew();
            var failure = await Assert.ThrowsAsync<MosquittoUnavailableException>(() => ReloadAsync(reloader, ProbeCredential.New("provisioning-worker-probe", 1)));

            // Then: a transient fault at the configured timeout (plus the scheduling slack of a loaded machine)
            Assert.Contains("did not take the new files within 1.5 s", failure.Message, StringComparison.Ordinal);
            Assert.True(clock.Elapsed >= reloadTimeout, $"gave up early, after {clock.Elapsed}");
            Assert.True(clock.Elapsed < reloadTimeout + TimeSpan.FromSeconds(1), $"gave up after {clock.Elapsed.TotalSeconds:0.0} s, not at the {reloadTimeout.TotalSeconds} s reload timeout");
        }
        finally
        {
            await broker.ThawAsync();
        }
    }

    /// <summary>
    /// After a timeout the projection rebuilds the files and signals again, while the broker may still be frozen.
    /// A standard signal does not queue: a SIGHUP sent while one is pending is merged with it, so the broker reloads
    /// once when it runs again, from the files on disk then, and the next probe finds the newest files in effect.
    /// </summary>
    [Fact]
    public async Task Signals_sent_into_a_frozen_broker_are_taken_once_after_SIGCONT_and_the_newest_files_are_in_effect()
    {
        // Given
        await using var broker = await MosquittoBroker.StartAsync();
        var reloader = Reloader(broker, TimeSpan.FromSeconds(1));
        var before = broker.LoggedReloads;
        await broker.FreezeAsync();
        ProbeCredential? last = null;
        try
        {
            Assert.StartsWith("T", broker.State, StringComparison.Ordinal);

            // When: two cycles, each with its own file and probe password, time out into the frozen broker
            for (var cycle = 0; cycle < 2; cycle++)
            {
                var probe = await WriteProbeAsync(broker);
                last = probe;
                await Assert.ThrowsAsync<MosquittoUnavailableException>(() => ReloadAsync(reloader, probe));
            }

            Assert.Equal(before, broker.LoggedReloads);
        }
        finally
        {
            await broker.ThawAsync();
        }

        // Then: one reload (the merged signals), and the last cycle's probe password works without another signal
        await Eventually.TrueAsync(() => broker.LoggedReloads > before, TimeSpan.FromSeconds(10), $"mosquitto logged no reload after SIGCONT\n{broker.Log}");
        await Task.Delay(500);
        Assert.Equal(before + 1, broker.LoggedReloads);
        Assert.NotNull(last);
        Assert.True(await broker.CanConnectAsync(last.Username, last.Password), $"the last probe password written while frozen is not in effect\n{broker.Log}");
    }

    /// <summary>The reload as the projection runs it (a token that can be cancelled), failed by the test if it hangs.</summary>
    private static async Task ReloadAsync(MosquittoReloader reloader, ProbeCredential probe)
    {
        using var stopping = new CancellationTokenSource();
        var reload = reloader.ReloadAsync(probe, proveTopics: false, stopping.Token);
        try
        {
            await reload.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            await stopping.CancelAsync();
            Assert.Fail("the reload into the frozen broker did not end within 20 s: nothing bounds the probe but the caller's token");
        }
    }

    private static async Task<ProbeCredential> WriteProbeAsync(MosquittoBroker broker)
    {
        var probe = ProbeCredential.New("provisioning-worker-probe", 1);
        var temporary = broker.PasswdFile + ".new";
        await File.WriteAllBytesAsync(temporary, probe.PasswdLine());
        File.Move(temporary, broker.PasswdFile, overwrite: true);
        return probe;
    }

    private static MosquittoReloader Reloader(MosquittoBroker broker, TimeSpan reloadTimeout) => new(
        Options.Create(new BrokerTargetOptions { PasswdFile = broker.PasswdFile, PidFile = broker.PidFile, ProbeHost = "127.0.0.1", ProbePort = broker.Port, ReloadTimeout = reloadTimeout }),
        TimeProvider.System,
        NullLogger<MosquittoReloader>.Instance);
}
