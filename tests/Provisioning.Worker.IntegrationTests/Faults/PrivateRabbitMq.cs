using System.Diagnostics;
using System.Globalization;
using RabbitMQ.Client;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// A RabbitMQ node of its own (<c>fault-…@localhost</c>, free AMQP and distribution ports, its database and logs in a
/// temp directory, no plugins), for the scenarios that restart the broker: the shared node on 5672 serves other
/// engineers' tests and must never be touched. Run as the <c>rabbitmq</c> user with its home (and so the Erlang
/// cookie the CLI tools share) when the tests run as root; as the current user otherwise.
/// </summary>
public sealed class PrivateRabbitMq : IAsyncDisposable
{
    private const string User = "fault";
    private const string ServerScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private Process? _server;

    private PrivateRabbitMq(string directory, string nodeName, int port, int distributionPort)
    {
        Directory = directory;
        NodeName = nodeName;
        Port = port;
        DistributionPort = distributionPort;
    }

    public string Directory { get; }

    public string NodeName { get; }

    public int Port { get; }

    public int DistributionPort { get; }

    /// <summary>The default virtual host "/" with the node's administrator.</summary>
    public Uri AmqpUri => new($"amqp://{User}:{User}@127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");

    public string Log
    {
        get
        {
            var file = Path.Combine(Directory, "log", $"{NodeName}.log");
            return File.Exists(file) ? File.ReadAllText(file) : "(no log)";
        }
    }

    public static async Task<PrivateRabbitMq> StartAsync()
    {
        Assert.True(File.Exists(ServerScript), $"{ServerScript} is missing: the RabbitMQ restart scenarios start a private node; install Debian's rabbitmq-server (scripts/deps.sh does).");
        var directory = System.IO.Directory.CreateTempSubdirectory("rabbitmq-fault-").FullName;
        var node = new PrivateRabbitMq(directory, $"fault-{Guid.NewGuid():N}@localhost", FreePort.Next(), FreePort.Next());
        await File.WriteAllLinesAsync(Path.Combine(directory, "rabbitmq.conf"), [
            $"listeners.tcp.default = 127.0.0.1:{node.Port.ToString(CultureInfo.InvariantCulture)}",
            $"default_user = {User}",
            $"default_pass = {User}",
            "default_user_tags.administrator = true",
            "disk_free_limit.absolute = 50MB",
        ]);
        await File.WriteAllTextAsync(Path.Combine(directory, "enabled_plugins"), "[].\n");
        await File.WriteAllTextAsync(Path.Combine(directory, "rabbitmq-env.conf"), string.Empty);
        if (RunAsUser is { } user)
        {
            var chown = await ProcessRunner.RunAsync("chown", ["-R", user, directory]);
            Assert.True(chown.ExitCode == 0, $"chown failed: {chown}");
        }

        await node.StartServerAsync();
        return node;
    }

    /// <summary>Starts the node and waits until an AMQP client can log in.</summary>
    public async Task StartServerAsync()
    {
        var info = new ProcessStartInfo(RunAsUser is null ? "env" : "runuser") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (RunAsUser is { } user)
        {
            foreach (var arg in new[] { "-u", user, "--", "env" })
            {
                info.ArgumentList.Add(arg);
            }
        }

        foreach (var (key, value) in Environment())
        {
            info.ArgumentList.Add($"{key}={value}");
        }

        info.ArgumentList.Add(ServerScript);
        info.WorkingDirectory = Directory;
        var process = Process.Start(info) ?? throw new InvalidOperationException("rabbitmq-server did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _server = process;

        var factory = new ConnectionFactory { Uri = AmqpUri, RequestedConnectionTimeout = TimeSpan.FromSeconds(2) };
        string? lastFailure = null;
        await Eventually.TrueAsync(
            async () =>
            {
                Assert.False(process.HasExited, $"the private RabbitMQ node exited while starting\n{Log}");
                try
                {
                    await using var connection = await factory.CreateConnectionAsync();
                    return true;
                }
                catch (Exception e) when (e is RabbitMQ.Client.Exceptions.BrokerUnreachableException or IOException)
                {
                    lastFailure = e.Message;
                    return false;
                }
            },
            TimeSpan.FromSeconds(90),
            "the private RabbitMQ node did not accept a connection",
            () => $"last failure: {lastFailure}\n{Log}",
            TimeSpan.FromMilliseconds(200));
    }

    /// <summary>
    /// <c>rabbitmqctl shutdown</c>: the node stops as in a service restart; clients lose their connections and find the
    /// port closed until <see cref="StartServerAsync"/>. Durable queues and persistent messages survive.
    /// </summary>
    public async Task StopServerAsync()
    {
        var result = await CtlAsync("shutdown");
        Assert.True(result.ExitCode == 0, $"rabbitmqctl shutdown failed: {result}\n{Log}");
        if (_server is { } server)
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await server.WaitForExitAsync(wait.Token);
            server.Dispose();
            _server = null;
        }
    }

    public async Task RestartAsync()
    {
        await StopServerAsync();
        await StartServerAsync();
    }

    /// <summary>
    /// <c>rabbitmqctl set_vm_memory_high_watermark</c>: a fraction below the node's use raises the memory alarm, and
    /// every connection that publishes is blocked (<c>connection.blocked</c>) until a fraction above it clears it.
    /// </summary>
    public async Task SetMemoryHighWatermarkAsync(double fraction)
    {
        var result = await CtlAsync("set_vm_memory_high_watermark", fraction.ToString("0.#########", CultureInfo.InvariantCulture));
        Assert.True(result.ExitCode == 0, $"rabbitmqctl set_vm_memory_high_watermark failed: {result}\n{Log}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is { HasExited: false })
        {
            await CtlAsync("shutdown");
        }

        if (_server is { } server)
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }

            server.Dispose();
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

    private static string? RunAsUser => System.Environment.UserName == "root" ? "rabbitmq" : null;

    private Dictionary<string, string> Environment()
    {
        var environment = new Dictionary<string, string>
        {
            ["RABBITMQ_NODENAME"] = NodeName,
            ["RABBITMQ_NODE_PORT"] = Port.ToString(CultureInfo.InvariantCulture),
            ["RABBITMQ_DIST_PORT"] = DistributionPort.ToString(CultureInfo.InvariantCulture),
            ["RABBITMQ_CONFIG_FILE"] = Path.Combine(Directory, "rabbitmq.conf"),
            ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(Directory, "rabbitmq-env.conf"),
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(Directory, "enabled_plugins"),
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(Directory, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(Directory, "log"),
            ["RABBITMQ_PID_FILE"] = Path.Combine(Directory, "rabbitmq.pid"),
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
        };
        if (RunAsUser is not null)
        {
            environment["HOME"] = "/var/lib/rabbitmq";
        }

        return environment;
    }

    private Task<ProcessResult> CtlAsync(params string[] args)
    {
        var environment = RunAsUser is null ? [] : new[] { "HOME=/var/lib/rabbitmq" };
        string[] command = ["rabbitmqctl", "-n", NodeName, .. args];
        return RunAsUser is { } user
            ? ProcessRunner.RunAsync("runuser", ["-u", user, "--", "env", .. environment, .. command], timeout: TimeSpan.FromSeconds(90))
            : ProcessRunner.RunAsync(command[0], command[1..], timeout: TimeSpan.FromSeconds(90));
    }
}
