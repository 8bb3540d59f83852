namespace Provisioning.Worker.Benchmarks;

/// <summary>What one benchmark run does; every figure it prints comes from the run these describe.</summary>
public sealed record BenchOptions
{
    /// <summary>Devices already registered (database and passwd file) before the first event.</summary>
    public int Devices { get; init; } = 100_000;

    /// <summary>Registrations of the burst run, published as fast as the publisher can.</summary>
    public int Registrations { get; init; } = 20_000;

    /// <summary>Events per second offered in the paced runs.</summary>
    public double PacedRate { get; init; } = 200;

    /// <summary>How long each paced run offers events.</summary>
    public TimeSpan PacedDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Paced events offered before the paced run and not measured, so the worker's JIT warm-up stays out of its figures.</summary>
    public TimeSpan WarmupDuration { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Idle MQTT clients connected during the broker-side run (0 skips that run).</summary>
    public int IdleClients { get; init; } = 2_000;

    /// <summary>mosquitto_passwd -b invocations timed for the baseline.</summary>
    public int BaselineSample { get; init; } = 20;

    /// <summary>Reloads of Mosquitto alone (worker stopped, same file) timed for the reload floor.</summary>
    public int FloorSample { get; init; } = 10;

    /// <summary>Publishes awaiting their broker confirm at once.</summary>
    public int MaxInFlight { get; init; } = 1_000;

    /// <summary>Distinct seed hashes; seeded devices share them (their passwords are known, so idle clients can log in).</summary>
    public int HashPool { get; init; } = 1_024;

    /// <summary>A phase that makes no progress for this long fails the run.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Provisioning.Worker.dll to run; default: the one beside the benchmark.</summary>
    public string? WorkerDll { get; init; }

    /// <summary>Extra worker configuration as KEY=VALUE environment variables (e.g. RabbitMq__PrefetchCount=128).</summary>
    public IReadOnlyList<string> WorkerSettings { get; init; } = [];

    /// <summary>Phases to leave out: ceiling, baseline, burst, paced, broker, fleet, floor.</summary>
    public IReadOnlySet<string> Skip { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Persistent sessions held on the broker in the fleet phase; negative: half the devices.</summary>
    public int Sessions { get; init; } = -1;

    /// <summary>Connected devices timing their own telemetry round trip in the fleet phase.</summary>
    public int TelemetryDevices { get; init; } = 2;

    /// <summary>How long the fleet phase measures, idle and then during paced provisioning.</summary>
    public TimeSpan FleetDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Topic authorization: <c>off</c> (no acl_file), <c>pattern</c> (the default rule: one pattern line) or <c>block</c> (a rule that needs one user block per device).</summary>
    public string Topics { get; init; } = TopicModes.Off;

    /// <summary>Broker groups of a fleet (FleetShape.cs): agents beside G × <see cref="Replicas"/> brokers and a central worker; 0: the single worker with its own broker.</summary>
    public int Groups { get; init; }

    /// <summary>Brokers (each with its agent) per group, when <see cref="Groups"/> ≥ 1.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>In a fleet, the tenants the seeded devices (and the run's registrations) are spread over; 0: 8 × <see cref="Groups"/>. Without groups every device is the tenant "bench".</summary>
    public int Tenants { get; init; }

    /// <summary>Keep the database, vhost and temp directory after the run (for inspection).</summary>
    public bool Keep { get; init; }

    public bool Runs(string phase) => !Skip.Contains(phase);
}

/// <summary>The <c>--topics</c> values and the rule each gives the worker (docs/topic-authorization.md, "How the rules are rendered").</summary>
public static class TopicModes
{
    public const string Off = "off";
    public const string Block = "block";
    public const string Pattern = "pattern";

    public static readonly string[] All = [Off, Pattern, Block];

    /// <summary>
    /// The worker's <c>Mosquitto__DeviceTopics__0</c> for a mode; null when topic authorization is off. <c>pattern</c> is
    /// the default rule (one <c>pattern</c> line); <c>block</c> grants the same kind of subtree with the ids apart, which
    /// needs a user block per device.
    /// </summary>
    public static string? Rule(string mode) => mode switch
    {
        Block => "readwrite tenants/{tenantId}/devices/{deviceId}/#",
        Pattern => "readwrite devices/{tenantId}/{deviceId}/#",
        _ => null,
    };
}
