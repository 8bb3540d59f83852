using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Provisioning.Worker.Benchmarks;

/// <summary>A private <c>mosquitto -c</c> on a free loopback port, with its own passwd, pid and log files in its directory.</summary>
public sealed class MosquittoServer : IAsyncDisposable
{
    private readonly Process _process;

    private MosquittoServer(string directory, int port, Process process)
    {
        Directory = directory;
        Port = port;
        _process = process;
    }

    public string Directory { get; }

    public int Port { get; }

    public int Pid => _process.Id;

    public string PasswdFile => Path.Combine(Directory, "passwd");

    /// <summary>The acl_file named in mosquitto.conf; null when the broker was started without one.</summary>
    public string? AclFile { get; private init; }

    public string PidFile => Path.Combine(Directory, "mosquitto.pid");

    public string LogFile => Path.Combine(Directory, "mosquitto.log");

    /// <param name="withAclFile">Name an (initially empty) acl_file in mosquitto.conf: topic authorization on.</param>
    public static async Task<MosquittoServer> StartAsync(string directory, bool withAclFile, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var files = withAclFile ? new[] { "passwd", "acl" } : ["passwd"];
        foreach (var file in files.Where(f => !File.Exists(Path.Combine(directory, f))))
        {
            await File.WriteAllBytesAsync(Path.Combine(directory, file), [], cancellationToken);
        }

        var lines = new List<string>
        {
            $"listener {port.ToString(CultureInfo.InvariantCulture)} 127.0.0.1",
            "allow_anonymous false",
            $"password_file {Path.Combine(directory, "passwd")}",
            $"pid_file {Path.Combine(directory, "mosquitto.pid")}",
            $"log_dest file {Path.Combine(directory, "mosquitto.log")}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages false",
            "persistence false",
            "max_keepalive 3600",
        };
        if (withAclFile)
        {
            lines.Add($"acl_file {Path.Combine(directory, "acl")}");
        }

        if (Environment.UserName == "root")
        {
            // As root Mosquitto drops to the user 'mosquitto', which could not write its pid file in this directory.
            lines.Add("user root");
        }

        var conf = Path.Combine(directory, "mosquitto.conf");
        await File.WriteAllLinesAsync(conf, lines, cancellationToken);
        var info = new ProcessStartInfo("mosquitto") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(conf);
        var process = Process.Start(info) ?? throw new InvalidOperationException("mosquitto did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new MosquittoServer(directory, port, process) { AclFile = withAclFile ? Path.Combine(directory, "acl") : null };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited at start; see {server.LogFile}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(25, cancellationToken);
            }
        }
    }

    /// <summary>How many times the broker has reloaded its configuration (and so the passwd file) so far.</summary>
    public int Reloads()
    {
        if (!File.Exists(LogFile))
        {
            return 0;
        }

        using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var count = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Contains("Reloading config", StringComparison.Ordinal))
            {
                count++;
            }
        }

        return count;
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
