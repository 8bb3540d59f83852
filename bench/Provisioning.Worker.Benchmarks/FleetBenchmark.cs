using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// The benchmark against a broker fleet (<c>--groups G --replicas R</c>, issues 22 and 23): the devices spread over
/// T tenants placed round-robin on G groups, G × R brokers each kept by an agent, one central worker. Phases: burst,
/// paced, fleet (sessions and telemetry on the first broker of g0 while paced provisioning runs over every group).
/// Per phase: provisioning's events/s and publish→reply, and per broker its reloads, Mosquitto's CPU per reload and
/// the stall per reload the agent logged.
/// </summary>
public sealed class FleetBenchmark(BenchOptions options, TextWriter output)
{
    private readonly Report _report = new();

    private int Tenants => options.Tenants > 0 ? options.Tenants : 8 * options.Groups;

    /// <summary>The fleet requires topic authorization: <c>--topics off</c> becomes the default rule (one pattern line).</summary>
    private string Topics => options.Topics == TopicModes.Off ? TopicModes.Pattern : options.Topics;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var ct = cancellationToken;
        var runId = Guid.NewGuid().ToString("N")[..12];
        var directory = Directory.CreateTempSubdirectory("provisioning-bench-fleet-").FullName;
        var databaseName = $"bench_{runId}";
        var virtualHost = $"bench-{runId}";
        var workerDll = options.WorkerDll ?? Path.Combine(AppContext.BaseDirectory, "Provisioning.Worker.dll");
        if (!File.Exists(workerDll))
        {
            throw new FileNotFoundException($"The worker is not at {workerDll}; build it or pass --worker-dll.", workerDll);
        }

        var iterations = Setting("Mosquitto__HashIterations") ?? new DeviceCredentialOptions().HashIterations;
        using var services = BenchServices.FromEnvironment();
        FleetShape? shape = null;
        IBusControl? bus = null;
        var createdDatabase = false;
        var createdHost = false;
        try
        {
            var loadAtStart = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            _report.Add("setup", "machine", $"{MachineCpu.Cores} cores, load average {loadAtStart} at start");
            _report.Add("setup", "fleet", $"{options.Groups} groups × {options.Replicas} replicas = {options.Groups * options.Replicas} brokers, an agent each, one central worker; {Tenants} tenants round-robin over the groups");
            _report.Add("setup", "topic authorization", $"{Topics}: Mosquitto__DeviceTopics__0={TopicModes.Rule(Topics)}{(options.Topics == TopicModes.Off ? " (the fleet requires topic authorization)" : string.Empty)}");
            _report.Add("setup", "worker settings", $"hash iterations {iterations}{(options.WorkerSettings.Count > 0 ? ", " + string.Join(", ", options.WorkerSettings) : string.Empty)} (central and agents)");

            // ---- seed: devices over tenants, tenants over groups
            var watch = Stopwatch.StartNew();
            var connectionString = await services.CreateDatabaseAsync(databaseName, ct);
            createdDatabase = true;
            var seeder = new Seeder(Math.Min(options.HashPool, Math.Max(1, options.Devices + 1)), iterations, Tenants);
            await seeder.SeedAsync(connectionString, options.Devices, ct);
            await FleetShape.PlaceTenantsAsync(connectionString, Tenants, options.Groups, ct);
            var perGroup = Enumerable.Range(0, options.Groups).Select(g => Enumerable.Range(0, Tenants).Where(t => FleetShape.GroupOfTenant(t, options.Groups) == g)
                .Sum(t => (long)((options.Devices / Tenants) + (t < options.Devices % Tenants ? 1 : 0)))).ToList();
            _report.Add("seed", "devices in the database", $"{options.Devices:N0} over {Tenants} tenants (COPY, {options.HashPool:N0} shared hashes) in {watch.Elapsed.TotalSeconds:0.0} s; per group {string.Join(" / ", perGroup.Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))}");

            var workerUri = await services.CreateVirtualHostAsync(virtualHost, ct);
            createdHost = true;

            watch.Restart();
            shape = await FleetShape.StartAsync(directory, options, Benchmark.BrokerSettings, AgentSettings(connectionString), CentralSettings(connectionString, workerUri, directory), workerDll, TimeSpan.FromMinutes(20), ct);
            _report.Add("seed", "agents and central ready (full render)", $"{watch.Elapsed.TotalSeconds:0.0} s; passwd file per broker {string.Join(" / ", shape.Brokers.Select(b => $"{b.Name} {new FileInfo(b.Broker.PasswdFile).Length / 1048576.0:0.0} MiB"))}");
            _report.Add("seed", "RSS after start", $"central {ProcFs.StatusMiB(shape.Central!.Id, "VmRSS"):0} MiB, agents {string.Join(" / ", shape.Brokers.Select(b => ProcFs.StatusMiB(b.Agent!.Id, "VmRSS").ToString("0", CultureInfo.InvariantCulture)))} MiB");

            var tracker = new ReplyTracker();
            bus = await BenchBus.StartAsync(workerUri, tracker, null, ct);
            var load = new LoadGenerator(bus, BenchBus.ReplyAddress, options.MaxInFlight, options.StallTimeout, seeder.TenantOf);

            FleetRun? burst = null;
            if (options.Runs("burst"))
            {
                burst = await MeasureAsync("burst", load, Ids("burst", options.Registrations), null, tracker, shape, ct);
            }

            FleetRun? paced = null;
            if (options.Runs("paced"))
            {
                if (options.WarmupDuration > TimeSpan.Zero)
                {
                    var warmupCount = (int)Math.Max(1, Math.Round(options.PacedRate * options.WarmupDuration.TotalSeconds));
                    var warmup = await load.RunAsync("warm-up", Ids("warmup", warmupCount), options.PacedRate, tracker, shape.Tail, ct);
                    _report.Add("paced", "warm-up (not measured)", $"{warmup.Events:N0} events at {options.PacedRate:0}/s");
                }

                var pacedCount = (int)Math.Max(1, Math.Round(options.PacedRate * options.PacedDuration.TotalSeconds));
                paced = await MeasureAsync("paced", load, Ids("paced", pacedCount), options.PacedRate, tracker, shape, ct);
            }

            string? fleetSummary = null;
            if (options.Runs("fleet") && options.TelemetryDevices > 0)
            {
                fleetSummary = await FleetFeelAsync(load, tracker, shape, seeder, ct);
            }

            shape.ThrowIfExited();

            // ---- footprint
            var centralPeak = ProcFs.StatusMiB(shape.Central.Id, "VmHWM");
            var agentPeak = shape.Brokers.Max(b => ProcFs.StatusMiB(b.Agent!.Id, "VmHWM"));
            _report.Add("footprint", "peak RSS (VmHWM)", $"central {centralPeak:0} MiB; agents {string.Join(" / ", shape.Brokers.Select(b => ProcFs.StatusMiB(b.Agent!.Id, "VmHWM").ToString("0", CultureInfo.InvariantCulture)))} MiB");
            foreach (var broker in shape.Brokers)
            {
                _report.Add("footprint", $"{broker.Name}: passwd file, acl_file", $"{new FileInfo(broker.Broker.PasswdFile).Length / 1048576.0:0.0} MiB, {File.ReadLines(broker.Broker.PasswdFile).LongCount():N0} lines; {new FileInfo(broker.Broker.AclFile).Length:N0} bytes");
            }

            if (options.Runs("floor"))
            {
                _report.Add("floor", "reload floor", "not measured in fleet runs (run --groups 0 at the group's size)");
            }

            var loadAtEnd = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            _report.Add("setup", "load average at end", loadAtEnd);

            output.WriteLine();
            _report.Print(output);
            output.WriteLine(Summary(burst, paced, centralPeak, agentPeak, loadAtStart, loadAtEnd));
            if (fleetSummary is not null)
            {
                output.WriteLine(fleetSummary);
            }

            return 0;
        }
        finally
        {
            if (bus is not null)
            {
                await bus.StopAsync(CancellationToken.None);
            }

            if (shape is not null)
            {
                await shape.DisposeAsync();
            }

            if (!options.Keep)
            {
                if (createdHost)
                {
                    await services.DeleteVirtualHostAsync(virtualHost);
                }

                if (createdDatabase)
                {
                    await services.DropDatabaseAsync(databaseName);
                }

                Directory.Delete(directory, recursive: true);
            }
            else
            {
                Console.Error.WriteLine($"bench: kept database {databaseName}, virtual host {virtualHost}, directory {directory}");
            }
        }
    }

    /// <summary>One load run with the central worker's, the agents' and the brokers' CPU and each broker's reloads and stalls.</summary>
    private async Task<FleetRun> MeasureAsync(string phase, LoadGenerator load, IReadOnlyList<string> ids, double? rate, ReplyTracker tracker, FleetShape shape, CancellationToken ct)
    {
        var machine = new MachineCpu();
        var ownCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var central = shape.Central!;
        var centralCpu = ProcFs.CpuSeconds(central.Id);
        var centralJit = new ThreadCpuMeter(central.Id, Benchmark.JitThread);
        var agentsCpu = shape.Brokers.Sum(b => ProcFs.CpuSeconds(b.Agent!.Id));
        var marks = shape.Brokers.Select(b => b.Mark()).ToList();

        var result = await load.RunAsync(phase, ids, rate, tracker, shape.Tail, ct);

        var seconds = result.Elapsed.TotalSeconds;
        var figures = shape.Brokers.Select((b, i) => b.Since(marks[i])).ToList();
        var offered = rate is { } r ? $"offered {r:0}/s for {ids.Count / r:0} s" : "published as fast as confirmed";
        _report.Add(phase, "central worker: events", $"{result.Events:N0} ({offered}; published at {result.PublishedPerSecond:0}/s), spread over {options.Groups} groups");
        _report.Add(phase, "central worker: events/s end to end", $"{result.EventsPerSecond:0} ({seconds:0.0} s to the last reply)");
        _report.Add(phase, "central worker: publish→reply", result.Latency.Summary());
        if (result.Rejected > 0 || result.Unexpected > 0)
        {
            _report.Add(phase, "central worker: unexpected replies", $"{result.Rejected} rejected, {result.Unexpected} unmatched");
        }

        var used = ProcFs.CpuSeconds(central.Id) - centralCpu;
        var jit = await centralJit.StopAsync();
        var agents = shape.Brokers.Sum(b => ProcFs.CpuSeconds(b.Agent!.Id)) - agentsCpu;
        var brokers = figures.Sum(f => f.CpuSeconds);
        _report.Add(
            phase,
            "CPU",
            $"machine {machine.BusyShare():P0} busy of {MachineCpu.Cores} cores; bench {(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - ownCpu) / seconds:P0} of a core; central {used / seconds:P0} ({used * 1000 / result.Events:0.00} ms/event, of which {jit * 1000 / result.Events:0.00} JIT warm-up); agents {agents / seconds:P0} together; mosquittos {brokers / seconds:P0} together");
        foreach (var f in figures)
        {
            _report.Add(phase, $"broker {f.Name}", f.Summary());
        }

        var pooled = Pooled(figures);
        _report.Add(phase, "per broker, pooled", pooled.Summary());
        return new FleetRun(result, figures, pooled);
    }

    /// <summary>
    /// What the fleet feels (issue 20's phase, FleetFeel.cs) on the first broker of g0: sessions held there for devices
    /// of g0, devices of g0 timing their telemetry round trip idle and during paced provisioning over every group.
    /// </summary>
    private async Task<string> FleetFeelAsync(LoadGenerator load, ReplyTracker tracker, FleetShape shape, Seeder seeder, CancellationToken ct)
    {
        var target = shape.Brokers[0];
        var members = Enumerable.Range(0, options.Devices).Where(i => FleetShape.GroupOfTenant(i % Tenants, options.Groups) == 0).ToList();
        var telemetry = Math.Min(options.TelemetryDevices, members.Count);
        var sessions = Math.Clamp(options.Sessions < 0 ? members.Count / 2 : options.Sessions, 0, members.Count - telemetry);
        var watch = Stopwatch.StartNew();
        var held = await PersistentSessions.CreateAsync(target.Broker.Port, sessions, k => (seeder.UsernameOf(members[k]), seeder.Password(members[k])), ct);
        _report.Add("fleet", "persistent sessions held", $"{held:N0} on {target.Name} (devices of {target.Group}; clean-session off, left disconnected) in {watch.Elapsed.TotalSeconds:0.0} s");

        var probes = members.Skip(members.Count - telemetry)
            .Select(i => (seeder.UsernameOf(i), seeder.Password(i), $"devices/{seeder.TenantOf(i)}/{Seeder.DeviceId(i)}/telemetry"))
            .ToList();
        await using var devices = await TelemetryProbes.ConnectAsync(target.Broker.Port, probes, ct);
        var interval = TimeSpan.FromMilliseconds(20);

        var idleCpu = ProcFs.CpuSeconds(target.Broker.Pid);
        var idle = await devices.MeasureAsync(options.FleetDuration, interval, ct);
        var idleBusy = (ProcFs.CpuSeconds(target.Broker.Pid) - idleCpu) / idle.Elapsed.TotalSeconds;
        _report.Add("fleet", $"telemetry round trip on {target.Name}, idle ({telemetry} devices, every {interval.TotalMilliseconds:0} ms)", idle.Summary());
        _report.Add("fleet", $"{target.Name} busy, idle", $"{idleBusy:P0} of its one thread");

        var count = (int)Math.Max(1, Math.Round(options.PacedRate * options.FleetDuration.TotalSeconds));
        var marks = shape.Brokers.Select(b => b.Mark()).ToList();
        var started = Stopwatch.GetTimestamp();
        var measuring = devices.MeasureAsync(options.FleetDuration, interval, ct);
        var provisioning = await load.RunAsync("fleet", Ids("fleet", count), options.PacedRate, tracker, shape.Tail, ct);
        var during = await measuring;
        var window = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var figures = shape.Brokers.Select((b, i) => b.Since(marks[i])).ToList();
        var mine = figures[0];
        var stalled = mine.Stall.Count == 0 ? 0 : mine.Stall.Mean * mine.Stall.Count / 1000;
        var keptUp = provisioning.EventsPerSecond / options.PacedRate;

        _report.Add("fleet", $"telemetry round trip on {target.Name}, during provisioning", during.Summary());
        _report.Add("fleet", $"{target.Name} busy, during provisioning", $"{mine.CpuSeconds / window:P0} of its one thread over {window:0.0} s; reloads {mine.Reloads} ({mine.Reloads / window:0.00}/s), stalled {stalled / window:P0} of the window");
        foreach (var f in figures)
        {
            _report.Add("fleet", $"broker {f.Name}", f.Summary());
        }

        var pooled = Pooled(figures);
        _report.Add("fleet", "per broker, pooled", pooled.Summary());
        _report.Add("fleet", "provisioning", $"{provisioning.Events:N0} events offered at {options.PacedRate:0}/s over every group, {provisioning.EventsPerSecond:0.0}/s achieved ({keptUp:P0} of offered), publish→reply {provisioning.Latency.Summary()}");
        return string.Create(
            CultureInfo.InvariantCulture,
            $"fleet: {options.Devices:N0} devices in {options.Groups}×{options.Replicas}, {held:N0} sessions on {target.Name}, {options.PacedRate:0}/s, topics {Topics}: telemetry p50 {during.RoundTrips.Percentile(50):0} / p99 {during.RoundTrips.Percentile(99):0} / max {during.RoundTrips.Max:0} ms during provisioning (idle p99 {idle.RoundTrips.Percentile(99):0} ms), {target.Name} busy {mine.CpuSeconds / window:P0}, its stall per reload p50 {mine.Stall.Percentile(50):0} / p99 {mine.Stall.Percentile(99):0} ms, mosquitto CPU {mine.CpuMsPerReload:0} ms per reload, provisioning p99 {provisioning.Latency.Percentile(99):0} ms at {keptUp:P0} of offered");
    }

    /// <summary>Every broker's reloads taken together: the stall per reload of any broker, Mosquitto's CPU per reload on average.</summary>
    private static BrokerFigures Pooled(IReadOnlyList<BrokerFigures> figures) => new(
        "all",
        "all",
        figures.Sum(f => f.Reloads),
        figures.Sum(f => f.CpuSeconds),
        figures.Max(f => f.Seconds),
        new Stats(figures.SelectMany(f => f.Stall.Values)),
        new Stats(figures.SelectMany(f => f.SighupToProbe.Values)),
        new Stats(figures.SelectMany(f => f.Cycle.Values)));

    private string Summary(FleetRun? burst, FleetRun? paced, double centralPeak, double agentPeak, string loadAtStart, string loadAtEnd)
    {
        var parts = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"{options.Groups}×{options.Replicas} brokers, N={options.Devices:N0} over {Tenants} tenants"),
            burst is null ? "burst n/a" : string.Create(CultureInfo.InvariantCulture, $"{burst.Run.EventsPerSecond:0} events/s (M={burst.Run.Events:N0}, p99 {burst.Run.Latency.Percentile(99):0} ms)"),
            paced is null ? "paced n/a" : string.Create(CultureInfo.InvariantCulture, $"p50 {paced.Run.Latency.Percentile(50):0} / p99 {paced.Run.Latency.Percentile(99):0} ms at {options.PacedRate:0}/s ({paced.Run.EventsPerSecond:0.0}/s achieved)"),
            paced is null ? "per broker n/a" : string.Create(CultureInfo.InvariantCulture, $"per broker (paced): stall per reload p50 {paced.Pooled.Stall.Percentile(50):0} / p99 {paced.Pooled.Stall.Percentile(99):0} ms, mosquitto CPU per reload {paced.Pooled.CpuMsPerReload:0} ms, {paced.Pooled.Reloads / (double)paced.Brokers.Count:0.0} reloads each"),
            string.Create(CultureInfo.InvariantCulture, $"peak RSS central {centralPeak:0} MiB, agent max {agentPeak:0} MiB"),
            $"topics {Topics}",
            $"load {loadAtStart} → {loadAtEnd}",
        };
        return "summary: " + string.Join(", ", parts);
    }

    private Dictionary<string, string?> AgentSettings(string connectionString)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ConnectionStrings__Provisioning"] = connectionString,
            ["Mosquitto__DeviceTopics__0"] = TopicModes.Rule(Topics),
            ["Mosquitto__ReloadTimeout"] = Topics == TopicModes.Block ? "00:10:00" : "00:00:10",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            // The projection's per-cycle timings (EventId 201: write, cycle, stall) and the reloader's SIGHUP→probe; one line per cycle.
            ["Serilog__MinimumLevel__Override__Provisioning.Worker.Projection"] = "Debug",
            ["Serilog__MinimumLevel__Override__Provisioning.Worker.Mosquitto"] = "Debug",
        };
        Apply(settings);
        return settings;
    }

    private Dictionary<string, string?> CentralSettings(string connectionString, Uri virtualHost, string directory)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ConnectionStrings__Provisioning"] = connectionString,
            ["RabbitMq__Uri"] = virtualHost.ToString(),
            // No broker volume: the key ring of undelivered passwords has a directory of its own.
            ["Secrets__KeyRingDirectory"] = Path.Combine(directory, "central-keys"),
            ["Mosquitto__DeviceTopics__0"] = TopicModes.Rule(Topics),
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Serilog__MinimumLevel__Override__MassTransit"] = "Information",
        };
        Apply(settings);
        return settings;
    }

    private void Apply(Dictionary<string, string?> settings)
    {
        foreach (var setting in options.WorkerSettings)
        {
            var equals = setting.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"--worker-setting '{setting}' is not KEY=VALUE");
            }

            settings[setting[..equals]] = setting[(equals + 1)..];
        }
    }

    private int? Setting(string key) => options.WorkerSettings.Where(s => s.StartsWith(key + "=", StringComparison.Ordinal))
        .Select(s => (int?)int.Parse(s[(key.Length + 1)..], CultureInfo.InvariantCulture)).LastOrDefault();

    private static string[] Ids(string prefix, int count) =>
        [.. Enumerable.Range(0, count).Select(i => $"{prefix}-{i.ToString("D7", CultureInfo.InvariantCulture)}")];
}

/// <summary>One load run against the fleet: provisioning's figures, each broker's, and every broker's taken together.</summary>
public sealed record FleetRun(RunResult Run, IReadOnlyList<BrokerFigures> Brokers, BrokerFigures Pooled);
