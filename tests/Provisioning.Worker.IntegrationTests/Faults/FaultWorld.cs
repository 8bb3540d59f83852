using System.Globalization;
using System.Text;
using MassTransit;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// The world of one fault scenario: a database and a RabbitMQ virtual host (on the shared servers, or on private ones
/// the scenario may stop), a real Mosquitto with an operator's line, any number of worker processes over time, the
/// upstream app's bus with its reply queue, and a watch on the passwd file's mode. It keeps every log it saw, for
/// the diagnostics and for the password grep.
/// </summary>
public sealed class FaultWorld : IInvariantWorld, IAsyncDisposable
{
    private readonly List<WorkerProcess> _workers = [];
    private readonly List<string> _finishedLogs = [];
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly PrivatePostgres? _postgres;
    private readonly PrivateRabbitMq? _rabbitMq;

    private FaultWorld(
        ITestOutputHelper output,
        string connectionString,
        Uri amqpUri,
        MosquittoBroker broker,
        IBusControl bus,
        ReplyCollector replies,
        PrivatePostgres? postgres,
        PrivateRabbitMq? rabbitMq)
    {
        Output = output;
        ConnectionString = connectionString;
        AmqpUri = amqpUri;
        Broker = broker;
        Bus = bus;
        Replies = replies;
        _postgres = postgres;
        _rabbitMq = rabbitMq;
        Queues = new QueueInspector(amqpUri);
        ModeWatcher = new PasswdModeWatcher(broker.PasswdFile);
    }

    public ITestOutputHelper Output { get; }

    public string ConnectionString { get; }

    public Uri AmqpUri { get; }

    public MosquittoBroker Broker { get; }

    public IBusControl Bus { get; }

    public ReplyCollector Replies { get; }

    public QueueInspector Queues { get; }

    public PasswdModeWatcher ModeWatcher { get; }

    public IReadOnlyList<(MosquittoBroker Broker, PasswdModeWatcher ModeWatcher)> Brokers => [(Broker, ModeWatcher)];

    /// <summary>Worker processes that are running (or were not yet reaped).</summary>
    public IReadOnlyList<WorkerProcess> Workers => _workers;

    /// <summary>Settings every worker of a fault scenario runs with, on top of <see cref="WorkerEnvironment"/>.</summary>
    public Dictionary<string, string?> WorkerSettings { get; } = new()
    {
        // A fault makes the projection and the dispatcher back off; a short ceiling keeps the healing within seconds.
        ["Provisioning__MaxBackoff"] = "00:00:02",
        // Replies leased by a killed instance wait for the lease to run out; 30 s by default.
        ["Provisioning__OutboxLease"] = "00:00:05",
    };

    /// <summary>
    /// Starts the world. With <paramref name="postgres"/> or <paramref name="rabbitMq"/> the database or the virtual
    /// host lives on that private server (which the world then owns and disposes); otherwise on the shared one.
    /// </summary>
    public static async Task<FaultWorld> StartAsync(ServiceEndpoints endpoints, ITestOutputHelper output, PrivatePostgres? postgres = null, PrivateRabbitMq? rabbitMq = null)
    {
        var owned = new List<IAsyncDisposable>();
        string connectionString;
        if (postgres is not null)
        {
            owned.Add(postgres);
            connectionString = await postgres.CreateDatabaseAsync();
        }
        else
        {
            var database = await TestDatabase.CreateAsync(endpoints);
            owned.Add(database);
            connectionString = database.ConnectionString;
        }

        Uri amqpUri;
        if (rabbitMq is not null)
        {
            owned.Add(rabbitMq);
            amqpUri = rabbitMq.AmqpUri;
        }
        else
        {
            var virtualHost = await TestVirtualHost.CreateAsync(endpoints);
            owned.Add(virtualHost);
            amqpUri = virtualHost.AmqpUri;
        }

        var broker = await MosquittoBroker.StartAsync(Encoding.UTF8.GetBytes(PipelineHarness.OperatorLine + "\n"), Encoding.UTF8.GetBytes(PipelineHarness.OperatorAclBlock));
        owned.Add(broker);
        var replies = new ReplyCollector();
        var credentials = Uri.UnescapeDataString(amqpUri.UserInfo).Split(':', 2);
        var bus = MassTransit.Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(amqpUri.Host, (ushort)amqpUri.Port, Provisioning.Worker.Configuration.RabbitMqUri.VirtualHost(amqpUri), host =>
            {
                host.Username(credentials[0]);
                host.Password(credentials[1]);
            });
            rabbit.ReceiveEndpoint("upstream-replies", replies.Configure);
        });
        using var startTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await bus.StartAsync(startTimeout.Token);
        var world = new FaultWorld(output, connectionString, amqpUri, broker, bus, replies, postgres, rabbitMq);
        world._owned.AddRange(owned);
        return world;
    }

    public PrivatePostgres Postgres => _postgres ?? throw new InvalidOperationException("this world runs on the shared PostgreSQL");

    public PrivateRabbitMq RabbitMq => _rabbitMq ?? throw new InvalidOperationException("this world runs on the shared RabbitMQ");

    public Dictionary<string, string?> WorkerEnvironment()
    {
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__Provisioning"] = ConnectionString,
            ["RabbitMq__Uri"] = AmqpUri.ToString(),
            ["Mosquitto__PasswdFile"] = Broker.PasswdFile,
            ["Mosquitto__PidFile"] = Broker.PidFile,
            ["Mosquitto__AclFile"] = Broker.AclFile,
            ["Mosquitto__BrokerHost"] = "127.0.0.1",
            ["Mosquitto__BrokerPort"] = Broker.Port.ToString(CultureInfo.InvariantCulture),
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["Serilog__MinimumLevel__Default"] = "Information",
            ["Serilog__MinimumLevel__Override__MassTransit"] = "Information",
        };
        foreach (var (key, value) in WorkerSettings)
        {
            environment[key] = value;
        }

        return environment;
    }

    /// <summary>Starts one more worker process; with <paramref name="waitUntilReady"/>, until its bus consumes and its projection ran once.</summary>
    public async Task<WorkerProcess> StartWorkerAsync(IReadOnlyDictionary<string, string?>? overrides = null, bool waitUntilReady = true)
    {
        await ReapExitedAsync();
        var environment = WorkerEnvironment();
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        var worker = WorkerProcess.Start([], environment);
        _workers.Add(worker);
        if (waitUntilReady)
        {
            await WaitUntilReadyAsync(worker);
        }

        return worker;
    }

    public Task WaitUntilReadyAsync(WorkerProcess worker) => WorkerHttp.WaitUntilReadyAsync(worker, Diagnostics);

    /// <summary>Failed projection cycles (rewrite, SIGHUP, probe) so far, summed over the running workers' <c>/metrics</c>.</summary>
    public async Task<double> ProjectionFailuresAsync()
    {
        double failures = 0;
        foreach (var worker in Workers.Where(w => !w.HasExited))
        {
            failures += await WorkerHttp.MetricAsync(await WorkerHttp.WaitForAddressAsync(worker), "provisioning_projection_failures_total");
        }

        return failures;
    }

    /// <summary>SIGKILL, no shutdown code runs; its logs are kept.</summary>
    public async Task KillAsync(WorkerProcess worker)
    {
        worker.KillHard();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await worker.WaitForExitAsync(wait.Token);
        await RetireAsync(worker);
    }

    /// <summary>SIGTERM and the graceful exit; the exit code and how long it took.</summary>
    public async Task<(int ExitCode, TimeSpan Took)> StopWorkerAsync(WorkerProcess worker, TimeSpan timeout)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var code = await worker.StopAsync(timeout);
        var took = started.Elapsed;
        await RetireAsync(worker);
        return (code, took);
    }

    /// <summary>Everything every worker printed, the broker's log and the private servers' logs: what the password grep reads.</summary>
    public string AllLogs()
    {
        var logs = new StringBuilder();
        foreach (var log in _finishedLogs)
        {
            logs.AppendLine(log);
        }

        foreach (var worker in _workers)
        {
            logs.AppendLine(worker.Stdout).AppendLine(worker.Stderr);
        }

        logs.AppendLine(Broker.Log);
        if (_postgres is not null)
        {
            logs.AppendLine(_postgres.Log);
        }

        if (_rabbitMq is not null)
        {
            logs.AppendLine(_rabbitMq.Log);
        }

        return logs.ToString();
    }

    public string Diagnostics()
    {
        var workers = new StringBuilder();
        foreach (var log in _finishedLogs.TakeLast(2))
        {
            workers.AppendLine("--- earlier worker ---").AppendLine(Tail(log, 6000));
        }

        foreach (var worker in _workers)
        {
            workers.AppendLine($"--- worker {worker.Id} (exited: {worker.HasExited}) ---").AppendLine(Tail(worker.Stdout + worker.Stderr, 8000));
        }

        return $"{workers}\n--- mosquitto ---\n{Tail(Broker.Log, 3000)}";
    }

    public async ValueTask DisposeAsync()
    {
        ModeWatcher.Dispose();
        if (Environment.GetEnvironmentVariable("PROVISIONING_TEST_FAULT_LOGS") is { Length: > 0 } logDirectory)
        {
            Directory.CreateDirectory(logDirectory);
            await File.WriteAllTextAsync(Path.Combine(logDirectory, $"{DateTime.UtcNow:HHmmss.fff}-{Guid.NewGuid():N}.log"), AllLogs());
        }

        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        try
        {
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await Bus.StopAsync(stopTimeout.Token);
        }
        catch (OperationCanceledException)
        {
            // A bus that cannot reach a stopped broker gives up; nothing to clean up on the broker then.
        }

        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
    }

    /// <summary>Forgets the workers that exited by themselves (their logs are kept).</summary>
    public async Task ReapExitedAsync()
    {
        foreach (var worker in _workers.Where(w => w.HasExited).ToList())
        {
            await RetireAsync(worker);
        }
    }

    private async Task RetireAsync(WorkerProcess worker)
    {
        if (_workers.Remove(worker))
        {
            _finishedLogs.Add($"[worker {worker.Id}, exit {worker.ExitCode}]\n{worker.Stdout}{worker.Stderr}");
            await worker.DisposeAsync();
        }
    }

    private static string Tail(string text, int length) => text.Length <= length ? text : text[^length..];
}
