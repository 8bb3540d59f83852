using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Provisioning.Worker.IntegrationTests.Fleet;

/// <summary>
/// Debian's HAProxy in TCP mode in front of a group's replicas, health-checking each agent's <c>/health/ready</c> as
/// docs/fleet.md tells operators to: what devices connect to in a fleet.
/// </summary>
public sealed class HaproxyFrontend : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private HaproxyFrontend(Process process, StringBuilder output, int port, string config)
    {
        _process = process;
        _output = output;
        Port = port;
        Config = config;
    }

    public int Port { get; }

    public string Config { get; }

    public string Output { get { lock (_output) { return _output.ToString(); } } }

    /// <param name="replicas">Each replica's MQTT port and its agent's HTTP port.</param>
    public static async Task<HaproxyFrontend> StartAsync(IReadOnlyList<(string Name, int MqttPort, int AgentHttpPort)> replicas)
    {
        var haproxy = RequiredTools.Find("haproxy", "The fleet tests run Debian's haproxy in front of the replicas: install it with scripts/deps.sh.");
        var port = FreePort.Next();
        var config = new StringBuilder(
            $"""
            global
                maxconn 2000
            defaults
                mode tcp
                timeout connect 2s
                timeout client 120s
                timeout server 120s
            frontend mqtt
                bind 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}
                default_backend replicas
            backend replicas
                option httpchk GET /health/ready
                default-server inter 300ms fall 2 rise 1

            """);
        foreach (var (name, mqtt, http) in replicas)
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"    server {name} 127.0.0.1:{mqtt} check port {http}");
        }

        var path = Path.Combine(Directory.CreateTempSubdirectory("haproxy-").FullName, "haproxy.cfg");
        await File.WriteAllTextAsync(path, config.ToString());
        var info = new ProcessStartInfo(haproxy) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-db", "-f", path })
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        var output = new StringBuilder();
        DataReceivedEventHandler capture = (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += capture;
        process.ErrorDataReceived += capture;
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var frontend = new HaproxyFrontend(process, output, port, config.ToString());
        await Eventually.TrueAsync(
            async () =>
            {
                Assert.False(process.HasExited, $"haproxy exited:\n{frontend.Output}\n{frontend.Config}");
                using var client = new System.Net.Sockets.TcpClient();
                try
                {
                    await client.ConnectAsync("127.0.0.1", port);
                    return true;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(10),
            "haproxy did not listen");
        return frontend;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
