using System.CommandLine;
using System.Globalization;
using Provisioning.Worker.Benchmarks;

var devices = new Option<int>("--devices") { Description = "Devices seeded before the first event.", DefaultValueFactory = _ => 100_000 };
var registrations = new Option<int>("--registrations") { Description = "Registrations of the burst run (and of the transport ceiling).", DefaultValueFactory = _ => 20_000 };
var pacedRate = new Option<double>("--paced-rate") { Description = "Events per second offered in the paced runs.", DefaultValueFactory = _ => 200 };
var pacedSeconds = new Option<double>("--paced-seconds") { Description = "How long each paced run offers events.", DefaultValueFactory = _ => 15 };
var warmupSeconds = new Option<double>("--warmup-seconds") { Description = "Paced events offered, not measured, before the paced run (lets the worker's JIT settle; 0: none).", DefaultValueFactory = _ => 20 };
var idleClients = new Option<int>("--idle-clients") { Description = "Connected idle MQTT clients in the broker-side run (0: skip it).", DefaultValueFactory = _ => 2_000 };
var baselineSample = new Option<int>("--baseline-sample") { Description = "mosquitto_passwd -b runs timed for the baseline.", DefaultValueFactory = _ => 20 };
var floorSample = new Option<int>("--floor-sample") { Description = "Reloads of Mosquitto alone (worker stopped) timed for the reload floor.", DefaultValueFactory = _ => 10 };
var maxInFlight = new Option<int>("--max-in-flight") { Description = "Publishes awaiting their confirm at once.", DefaultValueFactory = _ => 1_000 };
var hashPool = new Option<int>("--hash-pool") { Description = "Distinct password hashes shared by the seeded devices.", DefaultValueFactory = _ => 1_024 };
var stall = new Option<double>("--stall-seconds") { Description = "Fail a phase after this long without a reply.", DefaultValueFactory = _ => 60 };
var workerDll = new Option<string?>("--worker-dll") { Description = "Provisioning.Worker.dll to run (default: beside the benchmark)." };
var workerSettings = new Option<string[]>("--worker-setting") { Description = "Worker configuration as KEY=VALUE (environment variable form), repeatable.", AllowMultipleArgumentsPerToken = false };
var skip = new Option<string[]>("--skip") { Description = "Phases to leave out: ceiling, baseline, burst, paced, broker, fleet, floor (repeatable or comma-separated)." };
var sessions = new Option<int>("--sessions") { Description = "Persistent sessions (clean-session off, disconnected) held on the broker in the fleet phase (default: half the devices).", DefaultValueFactory = _ => -1 };
var telemetryDevices = new Option<int>("--telemetry-devices") { Description = "Connected devices timing their telemetry round trip in the fleet phase.", DefaultValueFactory = _ => 2 };
var fleetSeconds = new Option<double>("--fleet-seconds") { Description = "Length of each fleet-phase window (idle, then during paced provisioning).", DefaultValueFactory = _ => 30 };
var topics = new Option<string>("--topics") { Description = "Topic authorization: off (no acl_file), pattern (the default rule: one pattern line) or block (a rule with a user block per device).", DefaultValueFactory = _ => TopicModes.Off };
topics.AcceptOnlyFromAmong(TopicModes.All);
var groups = new Option<int>("--groups") { Description = "Broker groups of a fleet: G × R brokers, an agent beside each, and a central worker (0: the single worker with its own broker).", DefaultValueFactory = _ => 0 };
var replicas = new Option<int>("--replicas") { Description = "Brokers (each with an agent) per group, with --groups.", DefaultValueFactory = _ => 1 };
var tenants = new Option<int>("--tenants") { Description = "With --groups: tenants the devices are spread over, round-robin over the groups (default: 8 × groups). Without groups every device is the tenant 'bench'.", DefaultValueFactory = _ => 0 };
var keep = new Option<bool>("--keep") { Description = "Keep the database, virtual hosts and temp directory for inspection." };

var root = new RootCommand("Provisioning.Worker benchmark (docs/benchmarks.md): every figure from one run against real RabbitMQ, PostgreSQL and Mosquitto.")
{
    devices, registrations, pacedRate, pacedSeconds, warmupSeconds, idleClients, baselineSample, floorSample, maxInFlight, hashPool, stall, workerDll, workerSettings, skip, sessions, telemetryDevices, fleetSeconds, topics, groups, replicas, tenants, keep,
};
root.SetAction(async (result, cancellationToken) =>
{
    var options = new BenchOptions
    {
        Devices = result.GetValue(devices),
        Registrations = result.GetValue(registrations),
        PacedRate = result.GetValue(pacedRate),
        PacedDuration = TimeSpan.FromSeconds(result.GetValue(pacedSeconds)),
        WarmupDuration = TimeSpan.FromSeconds(result.GetValue(warmupSeconds)),
        IdleClients = result.GetValue(idleClients),
        BaselineSample = result.GetValue(baselineSample),
        FloorSample = result.GetValue(floorSample),
        MaxInFlight = result.GetValue(maxInFlight),
        HashPool = result.GetValue(hashPool),
        StallTimeout = TimeSpan.FromSeconds(result.GetValue(stall)),
        WorkerDll = result.GetValue(workerDll),
        WorkerSettings = result.GetValue(workerSettings) ?? [],
        Skip = (result.GetValue(skip) ?? []).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToHashSet(StringComparer.OrdinalIgnoreCase),
        Sessions = result.GetValue(sessions),
        TelemetryDevices = result.GetValue(telemetryDevices),
        FleetDuration = TimeSpan.FromSeconds(result.GetValue(fleetSeconds)),
        Topics = result.GetValue(topics) ?? TopicModes.Off,
        Groups = result.GetValue(groups),
        Replicas = result.GetValue(replicas),
        Tenants = result.GetValue(tenants),
        Keep = result.GetValue(keep),
    };
    if (options.Devices < 1 || options.Registrations < 1 || options.PacedRate <= 0 || options.MaxInFlight < 1 || options.HashPool < 1)
    {
        await Console.Error.WriteLineAsync("bench: --devices, --registrations, --paced-rate, --max-in-flight and --hash-pool must be positive");
        return 2;
    }

    if (options.Groups < 0 || options.Replicas < 1 || options.Tenants < 0 || (options.Groups > 0 && options.Tenants is > 0 && options.Tenants < options.Groups))
    {
        await Console.Error.WriteLineAsync("bench: --groups must be ≥ 0, --replicas ≥ 1, --tenants ≥ 0 and, with groups, at least one per group");
        return 2;
    }

    CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
    return await new Benchmark(options, Console.Out).RunAsync(cancellationToken);
});
return await root.Parse(args).InvokeAsync();
