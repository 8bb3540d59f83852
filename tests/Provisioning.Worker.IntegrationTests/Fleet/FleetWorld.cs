using System.Globalization;
using System.Text;
using MassTransit;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Fleet;

/// <summary>
/// A broker fleet on loopback, as docs/fleet.md lays it out: per group, real Mosquitto replicas, each kept by an agent
/// (<c>Provisioning.Worker agent</c>) and all behind one HAProxy health-checking the agents; one central worker that
/// consumes and dispatches and touches no broker file. Builds on the pipeline world's pieces (database, virtual host,
/// upstream bus, operator account).
/// </summary>
public sealed class FleetWorld : Faults.IInvariantWorld, IAsyncDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly List<string> _exitedLogs = [];

    // Shared by every central worker of the world, as instances of one deployment share their key ring.
    private readonly string _keyRing = Path.Combine(Directory.CreateTempSubdirectory("central-").FullName, "worker-keys");

    private FleetWorld(ITestOutputHelper output, TestDatabase database, TestVirtualHost virtualHost, IBusControl bus, ReplyCollector replies)
    {
        _output = output;
        Database = database;
        VirtualHost = virtualHost;
        Bus = bus;
        Replies = replies;
    }

    public TestDatabase Database { get; }

    public ITestOutputHelper Output => _output;

    public string ConnectionString => Database.ConnectionString;

    public Faults.QueueInspector Queues => new(VirtualHost.AmqpUri);

    public IReadOnlyList<(MosquittoBroker Broker, Faults.PasswdModeWatcher ModeWatcher)> Brokers =>
        Replicas.Select(r => (r.Broker, r.ModeWatcher)).ToList();

    public TestVirtualHost VirtualHost { get; }

    public IBusControl Bus { get; }

    public ReplyCollector Replies { get; }

    public List<Replica> Replicas { get; } = [];

    public Dictionary<string, HaproxyFrontend> Frontends { get; } = new(StringComparer.Ordinal);

    /// <summary>The central workers started, in order (several consume the same queues at once).</summary>
    public List<WorkerProcess> Centrals { get; } = [];

    public WorkerProcess? Central => Centrals.FirstOrDefault();

    /// <summary>Central worker settings, adjustable before <see cref="StartCentralAsync"/>.</summary>
    public Dictionary<string, string?> CentralSettings { get; } = new(StringComparer.Ordinal);

    /// <param name="replicas">Broker name and group of each replica; each group gets a HAProxy.</param>
    public static async Task<FleetWorld> StartAsync(ServiceEndpoints endpoints, ITestOutputHelper output, params (string Broker, string Group)[] replicas)
    {
        var database = await TestDatabase.CreateAsync(endpoints);
        var virtualHost = await TestVirtualHost.CreateAsync(endpoints);
        var replies = new ReplyCollector();
        var bus = await PipelineHarness.StartUpstreamBusAsync(virtualHost.AmqpUri, replies);
        var world = new FleetWorld(output, database, virtualHost, bus, replies);
        try
        {
            foreach (var (name, group) in replicas)
            {
                var broker = await MosquittoBroker.StartAsync(
                    Encoding.UTF8.GetBytes(PipelineHarness.OperatorLine + "\n"),
                    Encoding.UTF8.GetBytes(PipelineHarness.OperatorAclBlock));
                var replica = new Replica(name, group, broker, FreePort.Next(), new Faults.PasswdModeWatcher(broker.PasswdFile));
                world.Replicas.Add(replica);
                await world.StartAgentAsync(replica);
            }

            foreach (var group in replicas.Select(r => r.Group).Distinct(StringComparer.Ordinal))
            {
                world.Frontends[group] = await HaproxyFrontend.StartAsync(
                    world.Replicas.Where(r => r.Group == group).Select(r => (r.Name, r.Broker.Port, r.AgentHttpPort)).ToList());
            }
        }
        catch
        {
            await world.DisposeAsync();
            throw;
        }

        return world;
    }

    public Replica this[string broker] => Replicas.Single(r => r.Name == broker);

    /// <summary>Starts (or restarts) a replica's agent and waits until its <c>/health/ready</c> says 200.</summary>
    public async Task StartAgentAsync(Replica replica, bool waitUntilReady = true, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        if (replica.Agent is { } previous)
        {
            _exitedLogs.Add($"--- agent {replica.Name} (earlier) ---\n{previous.Stdout}{previous.Stderr}");
            await previous.DisposeAsync();
        }

        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings__Provisioning"] = Database.ConnectionString,
            ["Agent__Broker"] = replica.Name,
            ["Agent__Group"] = replica.Group,
            ["Agent__MaxLag"] = "00:00:03",
            ["Mosquitto__PasswdFile"] = replica.Broker.PasswdFile,
            ["Mosquitto__AclFile"] = replica.Broker.AclFile,
            ["Mosquitto__PidFile"] = replica.Broker.PidFile,
            ["Mosquitto__ProbeHost"] = "127.0.0.1",
            ["Mosquitto__ProbePort"] = replica.Broker.Port.ToString(CultureInfo.InvariantCulture),
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{replica.AgentHttpPort.ToString(CultureInfo.InvariantCulture)}",
            ["Provisioning__PollInterval"] = "00:00:00.500",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        replica.Agent = WorkerProcess.Start(["agent"], settings);
        if (waitUntilReady)
        {
            await WorkerHttp.WaitUntilReadyAsync(replica.Agent, Diagnostics, TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>Starts a central worker (one more, when one runs) with every group's HAProxy as its endpoint; waits until ready.</summary>
    public async Task<WorkerProcess> StartCentralAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings__Provisioning"] = Database.ConnectionString,
            ["RabbitMq__Uri"] = VirtualHost.AmqpUri.ToString(),
            ["Brokers__SilenceTimeout"] = "00:00:05",
            // No broker volume here: the key ring that seals undelivered passwords has a directory of its own.
            ["Secrets__KeyRingDirectory"] = _keyRing,
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["Provisioning__PollInterval"] = "00:00:00.500",
        };
        foreach (var (group, frontend) in Frontends)
        {
            settings[$"Brokers__Groups__{group}__Host"] = "127.0.0.1";
            settings[$"Brokers__Groups__{group}__Port"] = frontend.Port.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in CentralSettings)
        {
            settings[key] = value;
        }

        var central = WorkerProcess.Start([], settings);
        Centrals.Add(central);
        await WorkerHttp.WaitUntilReadyAsync(central, Diagnostics, TimeSpan.FromSeconds(60));
        return central;
    }

    /// <summary>Runs an operator command of the worker against this world's database.</summary>
    public Task<ProcessResult> RunCommandAsync(params string[] args) =>
        WorkerProcess.RunToExitAsync(args, new Dictionary<string, string?> { ["ConnectionStrings__Provisioning"] = Database.ConnectionString, ["Brokers__SilenceTimeout"] = "00:00:05" });

    public Task PublishRegisteredAsync(string tenantId, string deviceId) =>
        Bus.Publish(new Provisioning.Contracts.DeviceRegistered { TenantId = tenantId, DeviceId = deviceId }, context => context.MessageId = NewId.NextGuid());

    public Task PublishDeletedAsync(string tenantId, string deviceId) =>
        Bus.Publish(new Provisioning.Contracts.DeviceDeleted { TenantId = tenantId, DeviceId = deviceId }, context => context.MessageId = NewId.NextGuid());

    public string AllLogs()
    {
        var logs = new StringBuilder();
        logs.AppendJoin('\n', _exitedLogs);
        foreach (var central in Centrals)
        {
            logs.AppendLine(central.Stdout).AppendLine(central.Stderr);
        }

        foreach (var replica in Replicas)
        {
            logs.AppendLine(replica.Agent?.Stdout).AppendLine(replica.Agent?.Stderr).AppendLine(replica.Broker.Log);
        }

        return logs.ToString();
    }

    public string Diagnostics()
    {
        var text = new StringBuilder();
        foreach (var central in Centrals)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"--- central {central.Id} ---\n{Tail(central.Stdout + central.Stderr)}");
        }

        foreach (var replica in Replicas)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"--- agent {replica.Name} ---\n{Tail(replica.Agent?.Stdout + replica.Agent?.Stderr)}");
            text.AppendLine(CultureInfo.InvariantCulture, $"--- mosquitto {replica.Name} ---\n{Tail(replica.Broker.Log)}");
        }

        foreach (var (group, frontend) in Frontends)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"--- haproxy {group} ---\n{Tail(frontend.Output)}");
        }

        text.AppendJoin('\n', _exitedLogs.Select(l => Tail(l)));
        return text.ToString();
    }

    private static string Tail(string? text, int length = 6000) => text is null ? string.Empty : text.Length <= length ? text : text[^length..];

    public async ValueTask DisposeAsync()
    {
        try
        {
            _output.WriteLine(Diagnostics());
        }
        catch (InvalidOperationException)
        {
            // no test is running any more to write to
        }

        foreach (var central in Centrals)
        {
            await central.DisposeAsync();
        }

        foreach (var frontend in Frontends.Values)
        {
            await frontend.DisposeAsync();
        }

        foreach (var replica in Replicas)
        {
            if (replica.Agent is { } agent)
            {
                await agent.DisposeAsync();
            }

            await replica.Broker.DisposeAsync();
            replica.ModeWatcher.Dispose();
        }

        await Bus.StopAsync();
        await VirtualHost.DisposeAsync();
        await Database.DisposeAsync();
    }

    /// <summary>One broker of the fleet: its Mosquitto and the agent beside it.</summary>
    public sealed class Replica(string name, string group, MosquittoBroker broker, int agentHttpPort, Faults.PasswdModeWatcher modeWatcher)
    {
        public Faults.PasswdModeWatcher ModeWatcher { get; } = modeWatcher;

        public string Name { get; } = name;

        public string Group { get; } = group;

        public MosquittoBroker Broker { get; } = broker;

        public int AgentHttpPort { get; } = agentHttpPort;

        public WorkerProcess? Agent { get; set; }

        public Uri AgentAddress => new($"http://127.0.0.1:{AgentHttpPort.ToString(CultureInfo.InvariantCulture)}");
    }
}
