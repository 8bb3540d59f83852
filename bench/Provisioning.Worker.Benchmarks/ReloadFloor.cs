using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using MQTTnet;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Mosquitto;
using Provisioning.Worker.Testing;

namespace Provisioning.Worker.Benchmarks;

/// <summary>What Mosquitto alone needs to take a passwd file: reload times, its CPU per reload, logins per reload.</summary>
public sealed record ReloadFloorResult(Stats Reload, double BrokerCpuMsPerReload, Stats Logins);

/// <summary>
/// The physical limit of a reply's latency: with the worker stopped, the file it last wrote gets one extra user
/// with a fresh password (replaced by rename, as the worker does), Mosquitto gets SIGHUP, and a client tries that
/// password until it logs in. Nothing else runs, so this is Mosquitto's own reload of the same file.
/// </summary>
public static partial class ReloadFloor
{
    private const int SigHup = 1;
    private const string User = "bench-floor";
    private static readonly MqttClientFactory _factory = new();

    public static async Task<ReloadFloorResult> MeasureAsync(MosquittoBroker broker, int iterations, int sample, CancellationToken cancellationToken)
    {
        var original = await File.ReadAllBytesAsync(broker.PasswdFile, cancellationToken);
        var reloads = new List<double>(sample);
        var logins = new List<double>(sample);
        var brokerCpu = 0.0;
        try
        {
            for (var i = 0; i < sample; i++)
            {
                var password = CredentialGenerator.NewPassword();
                await ReplaceAsync(broker.PasswdFile, original, $"{User}:{MosquittoPasswordHash.Create(password, iterations)}\n", cancellationToken);

                // Settle: the previous reload's tail (and the rename) should not count against this one.
                await Task.Delay(TimeSpan.FromMilliseconds(300), cancellationToken);
                var cpuBefore = ProcFs.CpuSeconds(broker.Pid);
                var started = Stopwatch.GetTimestamp();
                if (Kill(broker.Pid, SigHup) != 0)
                {
                    throw new InvalidOperationException($"kill -HUP {broker.Pid}: {new Win32Exception(Marshal.GetLastPInvokeError()).Message}");
                }

                var attempts = await LoginUntilAcceptedAsync(broker.Port, password, cancellationToken);
                reloads.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                brokerCpu += ProcFs.CpuSeconds(broker.Pid) - cpuBefore;
                logins.Add(attempts);
            }
        }
        finally
        {
            await ReplaceAsync(broker.PasswdFile, original, string.Empty, CancellationToken.None);
        }

        return new ReloadFloorResult(new Stats(reloads), brokerCpu * 1000 / Math.Max(1, sample), new Stats(logins));
    }

    private static async Task ReplaceAsync(string path, byte[] content, string extraLine, CancellationToken cancellationToken)
    {
        var temp = path + ".bench-floor.tmp";
        await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            await stream.WriteAsync(content, cancellationToken);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(extraLine), cancellationToken);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Logs in with the new password, at once and then every millisecond; returns the attempts it took.</summary>
    private static async Task<int> LoginUntilAcceptedAsync(int port, string password, CancellationToken cancellationToken)
    {
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithCredentials(User, password)
            .WithClientId("bench-floor")
            .WithCleanSession()
            .WithTimeout(TimeSpan.FromSeconds(30))
            .Build();
        var attempts = 0;
        await Eventually.TrueAsync(
            async () =>
            {
                attempts++;
                using var client = _factory.CreateMqttClient();
                try
                {
                    var result = await client.ConnectAsync(options, cancellationToken);
                    if (result.ResultCode == MqttClientConnectResultCode.Success)
                    {
                        await client.DisconnectAsync(new MqttClientDisconnectOptions(), cancellationToken);
                        return true;
                    }
                }
                catch (MQTTnet.Adapter.MqttConnectingFailedException)
                {
                    // Refused: the broker still runs with the previous file.
                }

                return false;
            },
            TimeSpan.FromSeconds(60),
            "Mosquitto did not accept the new passwd file",
            () => $"{attempts} logins",
            TimeSpan.FromMilliseconds(1),
            cancellationToken);
        return attempts;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
