using System.Diagnostics;
using System.Globalization;
using MassTransit;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Testing;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// One benchmark run, every phase against real RabbitMQ, PostgreSQL and Mosquitto, with a fresh database,
/// virtual hosts and broker of its own: seed, baseline, transport ceiling, burst, paced, broker side.
/// </summary>
public sealed class Benchmark(BenchOptions options, TextWriter output)
{
    /// <summary>The runtime's background JIT thread: its CPU is warm-up of a freshly started worker, reported apart.</summary>
    internal const string JitThread = ".NET Tiered Com";

    /// <summary>
    /// Less log than the tests' broker (no debug lines, no connection messages: thousands of idle clients and a CONNECT
    /// every 10 ms), and a keepalive limit above the idle clients' 10 minutes.
    /// </summary>
    internal static readonly string[] BrokerSettings =
        ["log_type error", "log_type warning", "log_type notice", "log_type information", "connection_messages false", "max_keepalive 3600"];

    private readonly Report _report = new();

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (options.Groups > 0)
        {
            return await new FleetBenchmark(options, output).RunAsync(cancellationToken);
        }

        var ct = cancellationToken;
        var runId = Guid.NewGuid().ToString("N")[..12];
        var directory = Directory.CreateTempSubdirectory("provisioning-bench-").FullName;
        var databaseName = $"bench_{runId}";
        var virtualHost = $"bench-{runId}";
        var ceilingHost = $"bench-{runId}-ceiling";
        var workerDll = options.WorkerDll ?? Path.Combine(AppContext.BaseDirectory, "Provisioning.Worker.dll");
        if (!File.Exists(workerDll))
        {
            throw new FileNotFoundException($"The worker is not at {workerDll}; build it or pass --worker-dll.", workerDll);
        }

        var rabbitDefaults = new RabbitMqOptions();
        var prefetch = Setting("RabbitMq__PrefetchCount") ?? rabbitDefaults.PrefetchCount;
        var concurrency = Setting("RabbitMq__ConcurrentMessageLimit") ?? rabbitDefaults.ConcurrentMessageLimit;
        var iterations = Setting("Mosquitto__HashIterations") ?? new DeviceCredentialOptions().HashIterations;

        using var services = BenchServices.FromEnvironment();
        MosquittoBroker? broker = null;
        WorkerProcess? worker = null;
        WorkerLog? workerLog = null;
        IBusControl? bus = null;
        var createdDatabase = false;
        var createdHosts = new List<string>();
        try
        {
            _report.Add("setup", "machine", $"{MachineCpu.Cores} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} at start");
            _report.Add("setup", "topic authorization", TopicModes.Rule(options.Topics) is { } rule
                ? $"{options.Topics}: Mosquitto__DeviceTopics__0={rule}, reload timeout {ReloadTimeout()}"
                : "off (no acl_file)");
            _report.Add("setup", "worker settings", $"prefetch {prefetch}, concurrency {concurrency}, hash iterations {iterations}{(options.WorkerSettings.Count > 0 ? ", " + string.Join(", ", options.WorkerSettings) : string.Empty)}");

            // ---- seed
            var watch = Stopwatch.StartNew();
            var connectionString = await services.CreateDatabaseAsync(databaseName, ct);
            createdDatabase = true;
            var seeder = new Seeder(Math.Min(options.HashPool, Math.Max(1, options.Devices + options.IdleClients + 1)), iterations);
            await seeder.SeedAsync(connectionString, options.Devices, ct);
            _report.Add("seed", "devices in the database", $"{options.Devices:N0} (COPY, {options.HashPool:N0} shared hashes) in {watch.Elapsed.TotalSeconds:0.0} s");

            var brokerDirectory = Directory.CreateDirectory(Path.Combine(directory, "mosquitto")).FullName;
            broker = await MosquittoBroker.StartAsync(
                new MosquittoBrokerOptions { Directory = brokerDirectory, Acl = options.Topics != TopicModes.Off ? [] : null, Settings = BrokerSettings }, ct);
            var workerUri = await services.CreateVirtualHostAsync(virtualHost, ct);
            createdHosts.Add(virtualHost);

            watch.Restart();
            workerLog = new WorkerLog(Path.Combine(directory, "worker.log"));
            worker = WorkerProcess.Start([], WorkerEnvironment(connectionString, workerUri, broker), workerLog.OnLine, workerDll);
            Console.Error.WriteLine($"bench: worker pid {worker.Id}, log {workerLog.FilePath}");
            await workerLog.WaitReadyAsync(worker, TimeSpan.FromMinutes(10), ct);
            _report.Add("seed", "worker start to ready (full render)", $"{watch.Elapsed.TotalSeconds:0.0} s, passwd file {new FileInfo(broker.PasswdFile).Length / 1048576.0:0.0} MiB{AclSize(broker, ", acl_file ")}");
            _report.Add("seed", "worker RSS after start", $"{ProcFs.StatusMiB(worker.Id, "VmRSS"):0} MiB");

            // ---- baseline
            double? baselinePerSecond = null;
            if (options.Runs("baseline") && options.BaselineSample > 0)
            {
                var baseline = await PasswdBaseline.MeasureAsync(broker.PasswdFile, directory, options.BaselineSample, ct);
                baselinePerSecond = 1000 / baseline.Percentile(50);
                _report.Add("baseline", "mosquitto_passwd -b per event", $"{baseline.Summary()} ({baseline.Count} runs)");
                _report.Add("baseline", "baseline events/s", $"{baselinePerSecond:0.0}");
            }

            // ---- transport ceiling
            double? ceilingPerSecond = null;
            if (options.Runs("ceiling"))
            {
                var ceilingUri = await services.CreateVirtualHostAsync(ceilingHost, ct);
                createdHosts.Add(ceilingHost);
                var ceilingTracker = new ReplyTracker();
                var ceilingBus = await BenchBus.StartAsync(ceilingUri, ceilingTracker, (prefetch, concurrency), ct);
                try
                {
                    var ceiling = await MeasureAsync(
                        "ceiling", "trivial consumer", new LoadGenerator(ceilingBus, BenchBus.ReplyAddress, options.MaxInFlight, options.StallTimeout),
                        Ids("ceiling", options.Registrations), null, ceilingTracker, null, null, null, ct);
                    ceilingPerSecond = ceiling.EventsPerSecond;
                }
                finally
                {
                    await ceilingBus.StopAsync(CancellationToken.None);
                }
            }

            // ---- the worker: burst, paced, broker side
            var tracker = new ReplyTracker();
            bus = await BenchBus.StartAsync(workerUri, tracker, null, ct);
            var load = new LoadGenerator(bus, BenchBus.ReplyAddress, options.MaxInFlight, options.StallTimeout);

            RunResult? burst = null;
            if (options.Runs("burst"))
            {
                burst = await MeasureAsync("burst", "worker", load, Ids("burst", options.Registrations), null, tracker, worker, workerLog, broker, ct);
            }

            var pacedCount = (int)Math.Max(1, Math.Round(options.PacedRate * options.PacedDuration.TotalSeconds));
            RunResult? paced = null;
            if (options.Runs("paced"))
            {
                if (options.WarmupDuration > TimeSpan.Zero)
                {
                    // A fresh worker spends much of its first minutes in the JIT (tiered compilation): a worker that
                    // runs for days does not, so the paced figures come after a paced warm-up that is not measured.
                    var warmupCount = (int)Math.Max(1, Math.Round(options.PacedRate * options.WarmupDuration.TotalSeconds));
                    var jit = new ThreadCpuMeter(worker.Id, JitThread);
                    var warmup = await load.RunAsync("warm-up", Ids("warmup", warmupCount), options.PacedRate, tracker, () => workerLog.Tail, ct);
                    _report.Add("paced", "warm-up (not measured)", $"{warmup.Events:N0} events at {options.PacedRate:0}/s; worker JIT {await jit.StopAsync() * 1000 / warmup.Events:0.00} ms/event meanwhile");
                }

                paced = await MeasureAsync("paced", "worker", load, Ids("paced", pacedCount), options.PacedRate, tracker, worker, workerLog, broker, ct);
            }

            if (options.Runs("broker") && options.IdleClients > 0)
            {
                await BrokerSideAsync(load, tracker, worker, workerLog, broker, seeder, pacedCount, ct);
            }

            string? fleetSummary = null;
            if (options.Runs("fleet") && options.TelemetryDevices > 0)
            {
                fleetSummary = await FleetAsync(load, tracker, worker, workerLog, broker, seeder, ct);
            }

            // ---- footprint
            var peakMiB = ProcFs.StatusMiB(worker.Id, "VmHWM");
            _report.Add("footprint", "worker peak RSS (VmHWM)", $"{peakMiB:0} MiB");
            _report.Add("footprint", "passwd file", $"{new FileInfo(broker.PasswdFile).Length / 1048576.0:0.0} MiB, {File.ReadLines(broker.PasswdFile).LongCount():N0} lines");
            if (broker.HasAclFile)
            {
                _report.Add("footprint", "acl_file", AclSize(broker, string.Empty));
            }

            workerLog.ThrowIfExited(worker);

            // ---- floor: Mosquitto alone reloading the file the worker last wrote (the worker stopped)
            ReloadFloorResult? floor = null;
            if (options.Runs("floor") && options.FloorSample > 0)
            {
                await StopWorkerAsync(worker);
                floor = await ReloadFloor.MeasureAsync(broker, iterations, options.FloorSample, ct);
                _report.Add("floor", "mosquitto alone: SIGHUP→new password logs in", $"{floor.Reload.Summary()} ({floor.Reload.Count} reloads, worker stopped)");
                _report.Add("floor", "mosquitto alone: CPU per reload, logins per reload", $"{floor.BrokerCpuMsPerReload:0} ms, {floor.Logins.Percentile(50):0} logins (max {floor.Logins.Max:0})");
                if (burst?.Cycles is { Count: > 0 } burstCycles)
                {
                    _report.Add("floor", "burst: worker's cycle / floor", $"cycle p50 {burstCycles.Percentile(50) / floor.Reload.Percentile(50):0.0}× the floor's p50");
                }

                if (paced?.Cycles is { Count: > 0 } pacedCycles)
                {
                    var limit = (2 * floor.Reload.Percentile(50)) + 150;
                    var p99 = paced.Latency.Percentile(99);
                    _report.Add(
                        "floor",
                        "paced: worker's cycle / floor",
                        $"cycle p50 {pacedCycles.Percentile(50) / floor.Reload.Percentile(50):0.0}×, publish→reply p99 {p99 / floor.Reload.Percentile(50):0.0}× the floor's p50 (target p99 ≤ 2 × floor + 150 ms = {limit:0} ms: {(p99 <= limit ? "met" : "not met")})");
                }
            }

            _report.Add("setup", "load average at end", File.ReadAllText("/proc/loadavg").Split(' ')[0]);

            output.WriteLine();
            _report.Print(output);
            output.WriteLine(Summary(broker, burst, paced, ceilingPerSecond, baselinePerSecond, peakMiB, floor));
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

            if (worker is not null)
            {
                await StopWorkerAsync(worker);
                await worker.DisposeAsync();
            }

            if (workerLog is not null)
            {
                await workerLog.DisposeAsync();
            }

            if (broker is not null)
            {
                await broker.DisposeAsync();
            }

            if (!options.Keep)
            {
                foreach (var host in createdHosts)
                {
                    await services.DeleteVirtualHostAsync(host);
                }

                if (createdDatabase)
                {
                    await services.DropDatabaseAsync(databaseName);
                }

                Directory.Delete(directory, recursive: true);
            }
            else
            {
                Console.Error.WriteLine($"bench: kept database {databaseName}, virtual hosts {string.Join(", ", createdHosts)}, directory {directory}");
            }
        }
    }

    private async Task BrokerSideAsync(LoadGenerator load, ReplyTracker tracker, WorkerProcess worker, WorkerLog workerLog, MosquittoBroker broker, Seeder seeder, int count, CancellationToken ct)
    {
        var clients = Math.Min(options.IdleClients, options.Devices - 1);
        if (clients <= 0)
        {
            return;
        }

        await using var fleet = new IdleClients();
        var watch = Stopwatch.StartNew();
        await fleet.ConnectAsync(broker.Port, clients, i => (Seeder.Username(i), seeder.Password(i)), ct);
        _report.Add("broker", "idle clients connected", $"{fleet.Connected:N0} in {watch.Elapsed.TotalSeconds:0.0} s");

        // Before any reload: what a CONNECT costs on a quiet broker with this fleet.
        using (var quietStop = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            var quiet = new ConnectProber(broker.Port, Seeder.Username(clients), seeder.Password(clients), TimeSpan.FromMilliseconds(10));
            quietStop.CancelAfter(TimeSpan.FromSeconds(2));
            await quiet.RunAsync(quietStop.Token);
            _report.Add("broker", "CONNECT wait, no reloads", quiet.Waits.Summary());
        }

        var prober = new ConnectProber(broker.Port, Seeder.Username(clients), seeder.Password(clients), TimeSpan.FromMilliseconds(10));
        using var stopProbing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var probing = prober.RunAsync(stopProbing.Token);
        await MeasureAsync("broker", $"worker, {clients:N0} idle clients", load, Ids("fleet", count), options.PacedRate, tracker, worker, workerLog, broker, ct);
        await stopProbing.CancelAsync();
        await probing;
        _report.Add("broker", "CONNECT wait during reloads", $"{prober.Waits.Summary()} ({prober.Waits.Count} connects, {prober.Failures} failed)");
        _report.Add("broker", "idle clients still connected", $"{fleet.Connected:N0}");
    }

    /// <summary>
    /// What the fleet feels (issue 20): sessions held, devices timing their telemetry round trip idle and during paced
    /// provisioning, the broker's busy share, the stall per reload, provisioning's own latency and rate.
    /// </summary>
    private async Task<string> FleetAsync(LoadGenerator load, ReplyTracker tracker, WorkerProcess worker, WorkerLog workerLog, MosquittoBroker broker, Seeder seeder, CancellationToken ct)
    {
        var telemetry = Math.Min(options.TelemetryDevices, options.Devices);
        var sessions = Math.Clamp(options.Sessions < 0 ? options.Devices / 2 : options.Sessions, 0, options.Devices - telemetry);
        var watch = Stopwatch.StartNew();
        var held = await PersistentSessions.CreateAsync(broker.Port, sessions, i => (Seeder.Username(i), seeder.Password(i)), ct);
        _report.Add("fleet", "persistent sessions held", $"{held:N0} (clean-session off, left disconnected) in {watch.Elapsed.TotalSeconds:0.0} s");

        var probes = Enumerable.Range(options.Devices - telemetry, telemetry)
            .Select(i => (Seeder.Username(i), seeder.Password(i), $"devices/{Seeder.Tenant}/{Seeder.DeviceId(i)}/telemetry"))
            .ToList();
        await using var devices = await TelemetryProbes.ConnectAsync(broker.Port, probes, ct);
        var interval = TimeSpan.FromMilliseconds(20);

        var brokerCpu = ProcFs.CpuSeconds(broker.Pid);
        var idle = await devices.MeasureAsync(options.FleetDuration, interval, ct);
        var idleBusy = (ProcFs.CpuSeconds(broker.Pid) - brokerCpu) / idle.Elapsed.TotalSeconds;
        _report.Add("fleet", $"telemetry round trip, idle ({telemetry} devices, every {interval.TotalMilliseconds:0} ms)", idle.Summary());
        _report.Add("fleet", "mosquitto busy, idle", $"{idleBusy:P0} of its one thread");

        var count = (int)Math.Max(1, Math.Round(options.PacedRate * options.FleetDuration.TotalSeconds));
        var timings = workerLog.Timings();
        var reloads = broker.LoggedReloads;
        brokerCpu = ProcFs.CpuSeconds(broker.Pid);
        var started = Stopwatch.GetTimestamp();
        var measuring = devices.MeasureAsync(options.FleetDuration, interval, ct);
        var provisioning = await load.RunAsync("fleet", Ids("fleet", count), options.PacedRate, tracker, () => workerLog.Tail, ct);
        var during = await measuring;
        var window = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var busy = (ProcFs.CpuSeconds(broker.Pid) - brokerCpu) / window;
        var stalls = new Stats(workerLog.Timings().ReloadMs.Skip(timings.ReloadMs.Count));
        var reloadCount = broker.LoggedReloads - reloads;
        var stalled = stalls.Count == 0 ? 0 : stalls.Mean * stalls.Count / 1000;
        var keptUp = provisioning.EventsPerSecond / options.PacedRate;

        _report.Add("fleet", "telemetry round trip, during provisioning", during.Summary());
        _report.Add("fleet", "mosquitto busy, during provisioning", $"{busy:P0} of its one thread over {window:0.0} s; reloads {reloadCount} ({reloadCount / window:0.00}/s), stalled {stalled / window:P0} of the window");
        _report.Add("fleet", "stall per reload (SIGHUP→probe accepted)", stalls.Summary());
        _report.Add("fleet", "provisioning", $"{provisioning.Events:N0} events offered at {options.PacedRate:0}/s, {provisioning.EventsPerSecond:0.0}/s achieved ({keptUp:P0} of offered), publish→reply {provisioning.Latency.Summary()}");
        return string.Create(
            CultureInfo.InvariantCulture,
            $"fleet: {options.Devices:N0} devices, {held:N0} sessions, {options.PacedRate:0}/s, topics {options.Topics}: telemetry p50 {during.RoundTrips.Percentile(50):0} / p99 {during.RoundTrips.Percentile(99):0} / max {during.RoundTrips.Max:0} ms during provisioning (idle p99 {idle.RoundTrips.Percentile(99):0} ms), mosquitto busy {busy:P0}, stall per reload p50 {stalls.Percentile(50):0} / p99 {stalls.Percentile(99):0} ms, provisioning p99 {provisioning.Latency.Percentile(99):0} ms at {keptUp:P0} of offered");
    }

    private async Task<RunResult> MeasureAsync(
        string phase, string what, LoadGenerator load, IReadOnlyList<string> ids, double? rate, ReplyTracker tracker, WorkerProcess? worker, WorkerLog? workerLog, MosquittoBroker? broker, CancellationToken ct)
    {
        var machine = new MachineCpu();
        var ownCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var workerCpu = worker is null ? double.NaN : ProcFs.CpuSeconds(worker.Id);
        var workerJit = worker is null ? null : new ThreadCpuMeter(worker.Id, JitThread);
        var brokerCpu = broker is null ? double.NaN : ProcFs.CpuSeconds(broker.Pid);
        var reloads = broker?.LoggedReloads ?? 0;
        var timings = workerLog?.Timings();

        var result = await load.RunAsync(phase, ids, rate, tracker, () => workerLog?.Tail ?? string.Empty, ct);

        var seconds = result.Elapsed.TotalSeconds;
        var offered = rate is { } r ? $"offered {r:0}/s for {ids.Count / r:0} s" : "published as fast as confirmed";
        _report.Add(phase, $"{what}: events", $"{result.Events:N0} ({offered}; published at {result.PublishedPerSecond:0}/s)");
        _report.Add(phase, $"{what}: events/s end to end", $"{result.EventsPerSecond:0} ({seconds:0.0} s to the last reply)");
        _report.Add(phase, $"{what}: publish→reply", result.Latency.Summary());
        if (result.Rejected > 0 || result.Unexpected > 0)
        {
            _report.Add(phase, $"{what}: unexpected replies", $"{result.Rejected} rejected, {result.Unexpected} unmatched");
        }

        var cpu = $"machine {machine.BusyShare():P0} busy of {MachineCpu.Cores} cores; bench {(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - ownCpu) / seconds:P0} of a core";
        var workerUsed = double.NaN;
        if (worker is not null && workerJit is not null)
        {
            var used = ProcFs.CpuSeconds(worker.Id) - workerCpu;
            var jit = await workerJit.StopAsync();
            workerUsed = used - jit;
            cpu += $"; worker {used / seconds:P0} ({used * 1000 / result.Events:0.00} ms/event, of which {jit * 1000 / result.Events:0.00} JIT warm-up)";
        }

        if (broker is not null)
        {
            cpu += $"; mosquitto {(ProcFs.CpuSeconds(broker.Pid) - brokerCpu) / seconds:P0}";
        }

        _report.Add(phase, $"{what}: CPU", cpu);
        if (broker is not null && workerLog is not null && timings is { } before)
        {
            var after = workerLog.Timings();
            var count = broker.LoggedReloads - reloads;
            var cycles = new Stats(after.CycleMs.Skip(before.CycleMs.Count));
            var reloadTimes = new Stats(after.ReloadMs.Skip(before.ReloadMs.Count));
            var writeTimes = new Stats(after.WriteMs.Skip(before.WriteMs.Count));
            var brokerCpuPerReload = count == 0 ? double.NaN : (ProcFs.CpuSeconds(broker.Pid) - brokerCpu) * 1000 / count;
            var workerCpuPerReload = count == 0 ? double.NaN : workerUsed * 1000 / count;
            _report.Add(phase, $"{what}: broker reloads", $"{count} ({count / seconds:0.0}/s, {(count == 0 ? 0 : result.Events / (double)count):0.0} events per reload, mosquitto CPU {brokerCpuPerReload:0} ms per reload)");
            _report.Add(phase, $"{what}: CPU per broker reload", $"{workerCpuPerReload:0} ms without JIT warm-up, events' own work included ({workerCpuPerReload / brokerCpuPerReload:P0} of mosquitto's CPU per reload)");
            _report.Add(phase, $"{what}: rewrite+reload cycle", cycles.Summary());
            _report.Add(phase, $"{what}: file write (lock to rename)", writeTimes.Summary());
            _report.Add(phase, $"{what}: SIGHUP→probe accepted", reloadTimes.Summary());
            return result with { Cycles = cycles, BrokerCpuPerReloadMs = brokerCpuPerReload };
        }

        return result;
    }

    private string Summary(MosquittoBroker broker, RunResult? burst, RunResult? paced, double? ceiling, double? baseline, double peakMiB, ReloadFloorResult? floor)
    {
        var parts = new List<string>();
        parts.Add(burst is null ? "burst n/a" : string.Create(CultureInfo.InvariantCulture, $"{burst.EventsPerSecond:0} events/s (N={options.Devices:N0}, M={burst.Events:N0})"));
        parts.Add(paced is null ? "paced p99 n/a" : string.Create(CultureInfo.InvariantCulture, $"p99 {paced.Latency.Percentile(99):0} ms at {options.PacedRate:0}/s"));
        parts.Add(floor is null ? "floor n/a" : paced is null
            ? string.Create(CultureInfo.InvariantCulture, $"reload floor {floor.Reload.Percentile(50):0} ms")
            : string.Create(CultureInfo.InvariantCulture, $"p99/floor {paced.Latency.Percentile(99) / floor.Reload.Percentile(50):0.0} (reload floor {floor.Reload.Percentile(50):0} ms)"));
        parts.Add(burst is not null && ceiling is { } c ? string.Create(CultureInfo.InvariantCulture, $"{burst.EventsPerSecond / c:P0} of ceiling ({c:0}/s)") : "ceiling n/a");
        parts.Add(burst is not null && baseline is { } b ? string.Create(CultureInfo.InvariantCulture, $"{burst.EventsPerSecond / b:0}x baseline ({b:0.0}/s)") : "baseline n/a");
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"peak RSS {peakMiB:0} MiB"));
        parts.Add(paced?.BrokerCpuPerReloadMs is { } brokerCpu ? string.Create(CultureInfo.InvariantCulture, $"mosquitto CPU per reload {brokerCpu:0} ms (paced)") : "mosquitto CPU per reload n/a");
        parts.Add($"topics {options.Topics}{AclSize(broker, ", acl_file ")}");
        return "summary: " + string.Join(", ", parts);
    }

    private Dictionary<string, string?> WorkerEnvironment(string connectionString, Uri virtualHost, MosquittoBroker broker)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ConnectionStrings__Provisioning"] = connectionString,
            ["RabbitMq__Uri"] = virtualHost.ToString(),
            ["Mosquitto__PasswdFile"] = broker.PasswdFile,
            ["Mosquitto__PidFile"] = broker.PidFile,
            ["Mosquitto__BrokerHost"] = "127.0.0.1",
            ["Mosquitto__BrokerPort"] = broker.Port.ToString(CultureInfo.InvariantCulture),
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Serilog__MinimumLevel__Override__MassTransit"] = "Information",
            // The projection's per-cycle timings (rewrite + reload) and the reloader's stall; one line per cycle, not per event.
            ["Serilog__MinimumLevel__Override__Provisioning.Worker.Projection"] = "Debug",
            ["Serilog__MinimumLevel__Override__Provisioning.Worker.Mosquitto"] = "Debug",
        };
        if (TopicModes.Rule(options.Topics) is { } rule && broker.HasAclFile)
        {
            environment["Mosquitto__AclFile"] = broker.AclFile;
            environment["Mosquitto__DeviceTopics__0"] = rule;
            environment["Mosquitto__ReloadTimeout"] = ReloadTimeout();
        }

        foreach (var setting in options.WorkerSettings)
        {
            var (key, value) = SplitSetting(setting);
            environment[key] = value;
        }

        return environment;
    }

    /// <summary>
    /// Per-device blocks make each reload cost Mosquitto O(N²) CPU (50 s at 100,000 devices: docs/topic-authorization.md),
    /// past the worker's default 10 s; a worker that gives up on every reload would never release a reply, so the
    /// bench allows 10 minutes unless --worker-setting Mosquitto__ReloadTimeout says otherwise.
    /// </summary>
    private string ReloadTimeout() =>
        options.WorkerSettings.Select(SplitSetting).Where(s => s.Key == "Mosquitto__ReloadTimeout").Select(s => s.Value).LastOrDefault()
        ?? (options.Topics == TopicModes.Block ? "00:10:00" : "00:00:10");

    private static string AclSize(MosquittoBroker broker, string prefix) => broker.HasAclFile
        ? string.Create(CultureInfo.InvariantCulture, $"{prefix}{new FileInfo(broker.AclFile).Length / 1048576.0:0.0} MiB ({new FileInfo(broker.AclFile).Length:N0} bytes, {File.ReadLines(broker.AclFile).LongCount():N0} lines)")
        : string.Empty;

    /// <summary>SIGTERM; a worker that does not stop within 30 s is killed and the run goes on (what it measured stands).</summary>
    private static async Task StopWorkerAsync(WorkerProcess worker)
    {
        try
        {
            await worker.StopAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // WorkerProcess.StopAsync has killed it.
        }
    }

    private int? Setting(string key) =>
        options.WorkerSettings.Select(SplitSetting).Where(s => s.Key == key).Select(s => (int?)int.Parse(s.Value, CultureInfo.InvariantCulture)).LastOrDefault();

    private static (string Key, string Value) SplitSetting(string setting)
    {
        var equals = setting.IndexOf('=', StringComparison.Ordinal);
        return equals > 0 ? (setting[..equals], setting[(equals + 1)..]) : throw new ArgumentException($"--worker-setting '{setting}' is not KEY=VALUE");
    }

    private static string[] Ids(string prefix, int count) =>
        [.. Enumerable.Range(0, count).Select(i => $"{prefix}-{i.ToString("D7", CultureInfo.InvariantCulture)}")];
}
