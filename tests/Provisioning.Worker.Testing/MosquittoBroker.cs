using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MQTTnet;
using MQTTnet.Adapter;

namespace Provisioning.Worker.Testing;

/// <summary>How to set up a <see cref="MosquittoBroker"/>; the defaults are what the integration tests want.</summary>
public sealed record MosquittoBrokerOptions
{
    /// <summary>The directory for the broker's files, kept at dispose; null: a fresh temp directory, deleted at dispose.</summary>
    public string? Directory { get; init; }

    /// <summary>The password file's content; null: an empty file.</summary>
    public byte[]? Passwd { get; init; }

    /// <summary>The acl_file's content (topic authorization on); null: no acl_file.</summary>
    public byte[]? Acl { get; init; }

    /// <summary>mosquitto.conf lines beyond the listener and the files: what to log, limits.</summary>
    public IReadOnlyList<string> Settings { get; init; } = ["log_type all"];
}

/// <summary>
/// A real <c>mosquitto -c &lt;conf&gt;</c> on a free loopback port with its files in one directory: no anonymous
/// access, the password file <see cref="PasswdFile"/>, a pid file (2.0.11 writes it even when not daemonised), a log
/// file, and an acl_file when asked for.
/// </summary>
public sealed class MosquittoBroker : IAsyncDisposable
{
    private readonly bool _ownsDirectory;
    private Process _process;
    private int _reloads;

    private MosquittoBroker(string directory, bool ownsDirectory, int port, Process process)
    {
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        Port = port;
        _process = process;
    }

    public string Directory { get; }

    public int Port { get; }

    public int Pid => _process.Id;

    public string PasswdFile => Path.Combine(Directory, "passwd");

    public string PidFile => Path.Combine(Directory, "mosquitto.pid");

    /// <summary>The broker's acl_file; only read when the broker was started with ACL content.</summary>
    public string AclFile => Path.Combine(Directory, "acl");

    public bool HasAclFile => File.Exists(AclFile);

    public string LogFile => Path.Combine(Directory, "mosquitto.log");

    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log file)";

    /// <summary>Starts the broker on <paramref name="passwdContent"/> (an empty file when null), waiting until its port accepts.</summary>
    public static Task<MosquittoBroker> StartAsync(byte[]? passwdContent = null, byte[]? aclContent = null) =>
        StartAsync(new MosquittoBrokerOptions { Passwd = passwdContent, Acl = aclContent }, CancellationToken.None);

    /// <summary>Starts the broker as <paramref name="options"/> say, waiting until its port accepts.</summary>
    public static async Task<MosquittoBroker> StartAsync(MosquittoBrokerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var mosquitto = RequiredTools.Mosquitto;
        var directory = options.Directory ?? System.IO.Directory.CreateTempSubdirectory("mosquitto-").FullName;
        var port = FreePort.Next();
        await File.WriteAllBytesAsync(Path.Combine(directory, "passwd"), options.Passwd ?? [], cancellationToken);
        var conf = Path.Combine(directory, "mosquitto.conf");
        var lines = new List<string>
        {
            $"listener {port.ToString(CultureInfo.InvariantCulture)} 127.0.0.1",
            "allow_anonymous false",
            $"password_file {Path.Combine(directory, "passwd")}",
            $"pid_file {Path.Combine(directory, "mosquitto.pid")}",
            $"log_dest file {Path.Combine(directory, "mosquitto.log")}",
            "persistence false",
        };
        lines.AddRange(options.Settings);
        if (options.Acl is { } acl)
        {
            await File.WriteAllBytesAsync(Path.Combine(directory, "acl"), acl, cancellationToken);
            lines.Add($"acl_file {Path.Combine(directory, "acl")}");
        }

        if (Environment.UserName == "root")
        {
            // As root, Mosquitto drops to the user 'mosquitto', which could not write the pid file in a root-owned temp directory.
            lines.Add("user root");
        }

        await File.WriteAllLinesAsync(conf, lines, cancellationToken);
        var broker = new MosquittoBroker(directory, options.Directory is null, port, Launch(mosquitto, conf));
        try
        {
            await broker.WaitUntilListeningAsync(cancellationToken);
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }

        return broker;
    }

    /// <summary>Stops the broker (SIGTERM), as an operator or a crash would; the port stays closed until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>Starts the broker again with the same configuration, port and files; waits until the port accepts.</summary>
    public async Task StartAgainAsync()
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException("mosquitto is still running");
        }

        _process.Dispose();
        _process = Launch(RequiredTools.Mosquitto, Path.Combine(Directory, "mosquitto.conf"));
        await WaitUntilListeningAsync(CancellationToken.None);
    }

    /// <summary>
    /// SIGSTOP: the process stays, its pid file and port stay, the kernel still completes TCP handshakes into the
    /// listen backlog and keeps signals pending, but nothing is answered or handled until <see cref="ThawAsync"/>.
    /// </summary>
    public async Task FreezeAsync() => await SignalAsync("-STOP");

    /// <summary>SIGCONT: the broker runs again and handles what waited (one pending SIGHUP at most: standard signals do not queue).</summary>
    public async Task ThawAsync() => await SignalAsync("-CONT");

    /// <summary>The broker's state from <c>/proc/&lt;pid&gt;/status</c> ("T (stopped)" while frozen).</summary>
    public string State => File.ReadAllText($"/proc/{Pid.ToString(CultureInfo.InvariantCulture)}/status")
        .Split('\n').First(l => l.StartsWith("State:", StringComparison.Ordinal))["State:".Length..].Trim();

    /// <summary>How many reloads the broker logged so far ("Reloading config").</summary>
    public int LoggedReloads =>
        File.Exists(LogFile) ? File.ReadLines(LogFile).Count(l => l.Contains("Reloading config", StringComparison.Ordinal)) : 0;

    private async Task SignalAsync(string signal)
    {
        var pid = Pid.ToString(CultureInfo.InvariantCulture);
        var kill = await ProcessRunner.RunAsync("kill", [signal, pid]);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill {signal} {pid} failed: {kill}");
        }
    }

    private static Process Launch(string mosquitto, string conf)
    {
        var info = new ProcessStartInfo(mosquitto) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(conf);
        var process = Process.Start(info) ?? throw new InvalidOperationException("mosquitto did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>SIGHUP to the pid in the pid file, then waits until the broker logged the reload.</summary>
    public async Task ReloadAsync()
    {
        if (!File.Exists(PidFile))
        {
            throw new InvalidOperationException($"mosquitto wrote no pid file at {PidFile}\n{Log}");
        }

        var pid = (await File.ReadAllTextAsync(PidFile)).Trim();
        if (pid != Pid.ToString(CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"the pid file {PidFile} holds {pid}, the broker runs as {Pid}");
        }

        var kill = await ProcessRunner.RunAsync("kill", ["-HUP", pid]);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -HUP {pid} failed: {kill}");
        }

        _reloads++;
        // The broker reloads the password file in its main loop right after logging this line, before it handles
        // the next CONNECT; log lines are flushed as written.
        await Eventually.TrueAsync(() => LoggedReloads >= _reloads, TimeSpan.FromSeconds(10), $"mosquitto did not log reload #{_reloads}", () => Log, TimeSpan.FromMilliseconds(20));
    }

    /// <summary>True when the broker accepts these credentials, false when it refuses them; anything else throws.</summary>
    /// <param name="password">A reply's password; null (a sealed reply's) fails the test.</param>
    public Task<bool> CanConnectAsync(string user, string? password)
    {
        ArgumentNullException.ThrowIfNull(password);
        return CanConnectAsync("127.0.0.1", Port, user, password, () => Log);
    }

    /// <summary>
    /// True when the broker at <paramref name="host"/>:<paramref name="port"/> (any broker: one in a container too) accepts
    /// these credentials, false when it refuses them; anything else throws, with <paramref name="log"/>.
    /// </summary>
    public static async Task<bool> CanConnectAsync(string host, int port, string user, string password, Func<string> log)
    {
        ArgumentNullException.ThrowIfNull(log);
        using var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithClientId($"it-{Guid.NewGuid():N}")
            .WithCredentials(user, password)
            .WithTimeout(TimeSpan.FromSeconds(5))
            .Build();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        MqttClientConnectResultCode code;
        try
        {
            var result = await client.ConnectAsync(options, cts.Token);
            code = result.ResultCode;
        }
        catch (MqttConnectingFailedException e) when (e.Message.Contains(nameof(MqttClientConnectResultCode.NotAuthorized), StringComparison.Ordinal)
            || e.Message.Contains(nameof(MqttClientConnectResultCode.BadUserNameOrPassword), StringComparison.Ordinal))
        {
            // MQTTnet 5 carries the CONNACK code of a refused connection only in the exception's message.
            return false;
        }

        if (code == MqttClientConnectResultCode.Success)
        {
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
            return true;
        }

        if (code is not (MqttClientConnectResultCode.NotAuthorized or MqttClientConnectResultCode.BadUserNameOrPassword))
        {
            throw new InvalidOperationException($"unexpected CONNACK {code}\n{log()}");
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        if (!_ownsDirectory)
        {
            return;
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }

    private async Task WaitUntilListeningAsync(CancellationToken cancellationToken)
    {
        await Eventually.TrueAsync(
            async () =>
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"mosquitto exited with {_process.ExitCode} at start\n{Log}");
                }

                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(10),
            $"mosquitto did not listen on port {Port}",
            () => Log,
            TimeSpan.FromMilliseconds(25),
            cancellationToken);
    }
}
