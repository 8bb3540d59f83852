using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using Provisioning.Worker.Testing;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// A broker fleet on this machine, as docs/fleet.md lays it out and the fleet tests start it (FleetWorld): per group
/// g0..g{G-1}, R Mosquitto replicas, each kept by an agent (<c>Provisioning.Worker agent</c>); one central worker that
/// consumes and dispatches, with each group's endpoint the first replica's port (no load balancer in the bench).
/// </summary>
public sealed class FleetShape : IAsyncDisposable
{
    private static readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private FleetShape(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public List<FleetBroker> Brokers { get; } = [];

    public WorkerProcess? Central { get; private set; }

    public WorkerLog? CentralLog { get; private set; }

    public static string GroupName(int group) => "g" + group.ToString(CultureInfo.InvariantCulture);

    /// <summary>The group tenant <c>bench-{tenant}</c> lives in: tenants round-robin over the groups.</summary>
    public static int GroupOfTenant(int tenant, int groups) => tenant % groups;

    /// <summary>One <c>tenant_placements</c> row per seeded tenant, so no placement is made during the run.</summary>
    public static async Task PlaceTenantsAsync(string connectionString, int tenants, int groups, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var insert = new NpgsqlCommand(
            "INSERT INTO tenant_placements (tenant_id, group_name, placed_at) SELECT t, g, now() FROM unnest(@tenants, @groups) AS x(t, g)", connection);
        insert.Parameters.AddWithValue("tenants", Enumerable.Range(0, tenants).Select(Seeder.TenantName).ToArray());
        insert.Parameters.AddWithValue("groups", Enumerable.Range(0, tenants).Select(t => GroupName(GroupOfTenant(t, groups))).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Starts every broker and its agent, waits until each agent's <c>/health/ready</c> is 200 (its group's files
    /// rendered and the reload proven), then the central worker, and waits for it too.
    /// </summary>
    public static async Task<FleetShape> StartAsync(
        string directory,
        BenchOptions options,
        IReadOnlyList<string> brokerSettings,
        IReadOnlyDictionary<string, string?> agentSettings,
        IReadOnlyDictionary<string, string?> centralSettings,
        string workerDll,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var shape = new FleetShape(directory);
        try
        {
            for (var g = 0; g < options.Groups; g++)
            {
                for (var r = 0; r < options.Replicas; r++)
                {
                    var name = $"{GroupName(g)}-r{r.ToString(CultureInfo.InvariantCulture)}";
                    var brokerDirectory = System.IO.Directory.CreateDirectory(Path.Combine(directory, name)).FullName;
                    var broker = await MosquittoBroker.StartAsync(
                        new MosquittoBrokerOptions { Directory = brokerDirectory, Acl = [], Settings = brokerSettings }, cancellationToken);
                    var fleetBroker = new FleetBroker(name, GroupName(g), broker, FreePort.Next(), Path.Combine(directory, name + "-agent.log"));
                    shape.Brokers.Add(fleetBroker);
                    var settings = new Dictionary<string, string?>(agentSettings, StringComparer.Ordinal)
                    {
                        ["Agent__Broker"] = name,
                        ["Agent__Group"] = fleetBroker.Group,
                        ["Mosquitto__PasswdFile"] = broker.PasswdFile,
                        ["Mosquitto__AclFile"] = broker.AclFile,
                        ["Mosquitto__PidFile"] = broker.PidFile,
                        ["Mosquitto__ProbeHost"] = "127.0.0.1",
                        ["Mosquitto__ProbePort"] = broker.Port.ToString(CultureInfo.InvariantCulture),
                        ["ASPNETCORE_URLS"] = fleetBroker.AgentAddress.ToString(),
                    };
                    fleetBroker.Agent = WorkerProcess.Start(["agent"], settings, fleetBroker.OnLine, workerDll);
                    Console.Error.WriteLine($"bench: broker {name} pid {broker.Pid} port {broker.Port}, agent pid {fleetBroker.Agent.Id}, log {fleetBroker.Log.FilePath}");
                }
            }

            foreach (var broker in shape.Brokers)
            {
                await WaitReadyAsync(broker.Agent!, broker.AgentAddress, broker.Log, $"agent {broker.Name}", timeout, cancellationToken);
            }

            var centralPort = FreePort.Next();
            var central = new Dictionary<string, string?>(centralSettings, StringComparer.Ordinal)
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{centralPort.ToString(CultureInfo.InvariantCulture)}",
            };
            for (var g = 0; g < options.Groups; g++)
            {
                var first = shape.Brokers.First(b => b.Group == GroupName(g));
                central[$"Brokers__Groups__{first.Group}__Host"] = "127.0.0.1";
                central[$"Brokers__Groups__{first.Group}__Port"] = first.Broker.Port.ToString(CultureInfo.InvariantCulture);
            }

            shape.CentralLog = new WorkerLog(Path.Combine(directory, "central.log"));
            shape.Central = WorkerProcess.Start([], central, shape.CentralLog.OnLine, workerDll);
            Console.Error.WriteLine($"bench: central worker pid {shape.Central.Id}, log {shape.CentralLog.FilePath}");
            await WaitReadyAsync(shape.Central, new Uri($"http://127.0.0.1:{centralPort.ToString(CultureInfo.InvariantCulture)}/"), shape.CentralLog, "the central worker", timeout, cancellationToken);
        }
        catch
        {
            await shape.DisposeAsync();
            throw;
        }

        return shape;
    }

    /// <summary>Throws when any process of the fleet has exited, with its last lines.</summary>
    public void ThrowIfExited()
    {
        if (Central is not null && CentralLog is not null)
        {
            CentralLog.ThrowIfExited(Central);
        }

        foreach (var broker in Brokers)
        {
            if (broker.Agent is { } agent)
            {
                broker.Log.ThrowIfExited(agent);
            }
        }
    }

    /// <summary>The central worker's last lines and each agent's, for a phase that stalls.</summary>
    public string Tail() =>
        $"--- central ---\n{CentralLog?.Tail}\n" + string.Join('\n', Brokers.Select(b => $"--- agent {b.Name} ---\n{string.Join('\n', b.Log.Tail.Split('\n').TakeLast(20))}"));

    public async ValueTask DisposeAsync()
    {
        if (Central is not null)
        {
            await StopAsync(Central);
            await Central.DisposeAsync();
        }

        if (CentralLog is not null)
        {
            await CentralLog.DisposeAsync();
        }

        foreach (var broker in Brokers)
        {
            if (broker.Agent is { } agent)
            {
                await StopAsync(agent);
                await agent.DisposeAsync();
            }

            await broker.Log.DisposeAsync();
            await broker.Broker.DisposeAsync();
        }
    }

    private static async Task StopAsync(WorkerProcess process)
    {
        try
        {
            await process.StopAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // StopAsync has killed it.
        }
    }

    /// <summary>Polls <c>/health/ready</c> until it answers 200; fails when the process exits or the timeout passes.</summary>
    private static async Task WaitReadyAsync(WorkerProcess process, Uri address, WorkerLog log, string what, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            log.ThrowIfExited(process);
            try
            {
                using var response = await _http.GetAsync(new Uri(address, "/health/ready"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet, or busy rendering.
            }

            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"{what} was not ready within {timeout} (log {log.FilePath}):\n{log.Tail}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }
}

/// <summary>
/// One broker of the fleet: its Mosquitto, the agent beside it and the agent's log, from which the projection's
/// per-cycle timings (EventId 201 of <c>ProjectionRunner</c>, at Debug: write, cycle and the broker's stall) are read.
/// </summary>
public sealed partial class FleetBroker(string name, string group, MosquittoBroker broker, int agentPort, string logPath)
{
    private readonly Lock _lock = new();
    private readonly List<double> _stallMs = [];

    public string Name { get; } = name;

    public string Group { get; } = group;

    public MosquittoBroker Broker { get; } = broker;

    public Uri AgentAddress { get; } = new($"http://127.0.0.1:{agentPort.ToString(CultureInfo.InvariantCulture)}/");

    public WorkerLog Log { get; } = new(logPath);

    public WorkerProcess? Agent { get; set; }

    /// <summary>Takes one line of the agent's output.</summary>
    public void OnLine(string line)
    {
        Log.OnLine(line);
        if (StallLine().Match(line) is { Success: true } stall)
        {
            lock (_lock)
            {
                _stallMs.Add(double.Parse(stall.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>Where the counters stand now; <see cref="Since"/> gives the figures from here on.</summary>
    public BrokerMark Mark()
    {
        var timings = Log.Timings();
        lock (_lock)
        {
            return new BrokerMark(ProcFs.CpuSeconds(Broker.Pid), Broker.LoggedReloads, _stallMs.Count, timings.ReloadMs.Count, timings.CycleMs.Count, Stopwatch.GetTimestamp());
        }
    }

    public BrokerFigures Since(BrokerMark mark)
    {
        var timings = Log.Timings();
        List<double> stalls;
        lock (_lock)
        {
            stalls = _stallMs.Skip(mark.Stalls).ToList();
        }

        var reloads = Broker.LoggedReloads - mark.Reloads;
        var cpu = ProcFs.CpuSeconds(Broker.Pid) - mark.CpuSeconds;
        return new BrokerFigures(
            Name,
            Group,
            reloads,
            cpu,
            Stopwatch.GetElapsedTime(mark.Timestamp).TotalSeconds,
            new Stats(stalls),
            new Stats(timings.ReloadMs.Skip(mark.ProbeReloads)),
            new Stats(timings.CycleMs.Skip(mark.Cycles)));
    }

    [GeneratedRegex(@"the broker stalled ([0-9.]+) ms")]
    private static partial Regex StallLine();
}

/// <summary>A broker's counters at one moment.</summary>
public sealed record BrokerMark(double CpuSeconds, int Reloads, int Stalls, int ProbeReloads, int Cycles, long Timestamp);

/// <summary>A broker's figures over a window: reloads, its CPU, the stall per reload (from the agent's log), SIGHUP→probe, the agent's cycle.</summary>
public sealed record BrokerFigures(string Name, string Group, int Reloads, double CpuSeconds, double Seconds, Stats Stall, Stats SighupToProbe, Stats Cycle)
{
    public double CpuMsPerReload => Reloads == 0 ? double.NaN : CpuSeconds * 1000 / Reloads;

    public string Summary() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Reloads} reloads ({Reloads / Seconds:0.00}/s), mosquitto CPU {CpuMsPerReload:0} ms per reload ({CpuSeconds / Seconds:P0} of its thread); stall per reload {Stall.Summary()}; cycle p50 {Cycle.Percentile(50):0} / p99 {Cycle.Percentile(99):0} ms");
}
