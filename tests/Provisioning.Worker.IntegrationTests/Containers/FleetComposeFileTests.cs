using System.Globalization;
using System.Text.RegularExpressions;
using Provisioning.Worker.IntegrationTests.Alerts;

namespace Provisioning.Worker.IntegrationTests.Containers;

/// <summary>
/// The fleet's compose file (compose/docker-compose.fleet.yml, docs/fleet.md) read as Compose reads it, and the HAProxy
/// configuration it mounts: each agent beside exactly its own broker, the central worker beside none, HAProxy checking
/// every agent's readiness. No Docker engine needed (HAProxy's own check uses Debian's haproxy, from scripts/deps.sh).
/// </summary>
public sealed partial class FleetComposeFileTests
{
    private static readonly ComposeFile _fleet = ComposeFile.Load(new Dictionary<string, string>(), ComposeFile.FleetFileName);

    /// <summary>The Mosquitto replicas: the services that run the compose file's Mosquitto image.</summary>
    private static IReadOnlyList<ComposeService> Brokers =>
        _fleet.ServiceNames.Select(_fleet.Service).Where(s => s.Image == ComposeFile.Load(new Dictionary<string, string>()).Service("mosquitto").Image).ToList();

    /// <summary>The broker agents: the worker image run as <c>agent</c>.</summary>
    private static IReadOnlyList<ComposeService> Agents =>
        _fleet.ServiceNames.Select(_fleet.Service).Where(s => s.Command.SequenceEqual(["agent"])).ToList();

    private static IReadOnlySet<string> NamedVolumes(ComposeService service) =>
        service.Volumes.Where(v => !v.IsBindMount).Select(v => v.Source).ToHashSet(StringComparer.Ordinal);

    [Fact]
    public void Fleet_stack_runs_the_single_stacks_rabbitmq_and_postgres_unchanged()
    {
        var single = ComposeFile.Load(new Dictionary<string, string>());

        foreach (var name in new[] { "rabbitmq", "postgres" })
        {
            Assert.Equal(single.Service(name).Definition, _fleet.Service(name).Definition);
        }
    }

    [Fact]
    public void Fleet_stack_has_at_least_two_replicas_each_with_one_agent()
    {
        var brokers = Brokers;
        var agents = Agents;

        Assert.True(brokers.Count >= 2, $"{_fleet.Path}: {brokers.Count} Mosquitto service(s); a group needs replicas");
        Assert.Equal(brokers.Select(b => b.Name).Order(StringComparer.Ordinal), agents.Select(a => a.PidNamespaceOf!).Order(StringComparer.Ordinal));
        Assert.Equal(agents.Count, agents.Select(a => a.Environment["Agent__Broker"]).Distinct(StringComparer.Ordinal).Count());
        Assert.All(agents, agent => Assert.Equal("default", agent.Environment["Agent__Group"]));
    }

    [Fact]
    public void Each_agent_mounts_only_its_own_brokers_volumes_at_the_brokers_paths_and_probes_its_own_listener()
    {
        var brokers = Brokers.ToDictionary(b => b.Name, StringComparer.Ordinal);

        Assert.NotEmpty(Agents);
        foreach (var agent in Agents)
        {
            var broker = brokers[agent.PidNamespaceOf ?? throw new Xunit.Sdk.XunitException($"{agent.Name} joins no broker's pid namespace")];
            var own = NamedVolumes(broker);
            var others = brokers.Values.Where(b => b.Name != broker.Name).SelectMany(NamedVolumes).ToHashSet(StringComparer.Ordinal);
            var mounted = NamedVolumes(agent);

            // Only its broker's volumes, none of another broker's, no bind mount
            Assert.NotEmpty(mounted);
            Assert.Subset(own.ToHashSet(), mounted.ToHashSet());
            Assert.Empty(mounted.Intersect(others));
            Assert.DoesNotContain(agent.Volumes, v => v.IsBindMount);

            // Each mounted where the broker has it, so the paths in its configuration are the broker's files
            foreach (var volume in agent.Volumes)
            {
                Assert.Contains(broker.Volumes, b => b.Source == volume.Source && b.Target == volume.Target);
            }

            var environment = agent.Environment;
            foreach (var key in new[] { "Mosquitto__PasswdFile", "Mosquitto__AclFile", "Mosquitto__PidFile" })
            {
                var path = environment[key];
                var holder = agent.Volumes.SingleOrDefault(v => path.StartsWith(v.Target + "/", StringComparison.Ordinal));
                Assert.True(holder is not null, $"{agent.Name}: {key}={path} is in none of its volumes");
                Assert.Equal(key == "Mosquitto__PidFile", holder!.ReadOnly);
            }

            var config = File.ReadAllText(broker.Volumes.Single(v => v.Target == "/mosquitto/config/mosquitto.conf").Source);
            Assert.Contains($"password_file {environment["Mosquitto__PasswdFile"]}\n", config, StringComparison.Ordinal);
            Assert.Contains($"acl_file {environment["Mosquitto__AclFile"]}\n", config, StringComparison.Ordinal);
            Assert.Contains($"pid_file {environment["Mosquitto__PidFile"]}", config, StringComparison.Ordinal);

            // It proves a reload on its own replica, never through the load balancer
            Assert.Equal(broker.Name, environment["Mosquitto__ProbeHost"]);
            Assert.Equal("1883", environment["Mosquitto__ProbePort"]);
            Assert.Contains(broker.Name, agent.DependsOn);
        }
    }

    [Fact]
    public void Central_worker_mounts_no_broker_volume_joins_no_pid_namespace_and_tells_devices_the_load_balancer()
    {
        var worker = _fleet.Service("worker");
        var brokerVolumes = Brokers.SelectMany(NamedVolumes).ToHashSet(StringComparer.Ordinal);
        var environment = worker.Environment;

        Assert.Null(worker.PidNamespaceOf);
        Assert.Empty(NamedVolumes(worker).Intersect(brokerVolumes));
        Assert.Empty(worker.DependsOn.Intersect(Brokers.Select(b => b.Name).Concat(Agents.Select(a => a.Name))));
        foreach (var key in environment.Keys)
        {
            Assert.False(key.StartsWith("Mosquitto__", StringComparison.Ordinal), $"the central worker is given {key}: it keeps no broker");
        }

        // Devices are told HAProxy's published port
        var haproxyPort = _fleet.Service("haproxy").Ports.Single(p => p.EndsWith(":1883", StringComparison.Ordinal)).Split(':')[^2];
        Assert.Equal(haproxyPort, environment["Brokers__Groups__default__Port"]);
        Assert.False(string.IsNullOrEmpty(environment["Brokers__Groups__default__Host"]));

        // Its key ring is a volume of its own, prepared by the one-shot step it waits for
        var keyRing = environment["Secrets__KeyRingDirectory"];
        var keys = worker.Volumes.Single(v => v.Target == keyRing);
        Assert.False(keys.ReadOnly);
        var step = _fleet.ServiceNames.Select(_fleet.Service).Single(s => s.Name != worker.Name && s.Volumes.Any(v => v.Source == keys.Source));
        Assert.Contains(step.Name, worker.DependsOn);
        Assert.Contains($"chmod 0700 {keyRing}", string.Join(" ", step.Command), StringComparison.Ordinal);
        Assert.DoesNotContain(Agents, agent => agent.Volumes.Any(v => v.Source == keys.Source));
    }

    [Fact]
    public void HAProxy_balances_every_replica_and_checks_its_agents_readiness()
    {
        var haproxy = _fleet.Service("haproxy");
        var config = File.ReadAllText(HAProxyConfigPath(haproxy));
        var servers = Server().Matches(config).ToList();

        Assert.Contains("\n  mode tcp\n", config, StringComparison.Ordinal);
        Assert.Contains("\n  option httpchk GET /health/ready\n", config, StringComparison.Ordinal);
        Assert.Contains("\n  http-check expect status 200\n", config, StringComparison.Ordinal);
        Assert.Equal(Agents.Count, servers.Count);
        foreach (var agent in Agents)
        {
            var agentPort = new Uri(agent.Environment["ASPNETCORE_URLS"]).Port.ToString(CultureInfo.InvariantCulture);
            var server = servers.SingleOrDefault(m => m.Groups["name"].Value == agent.Environment["Agent__Broker"]);
            Assert.True(server is not null, $"no server {agent.Environment["Agent__Broker"]} in {HAProxyConfigPath(haproxy)}");
            Assert.Equal(agent.PidNamespaceOf, server!.Groups["host"].Value);
            Assert.Equal("1883", server.Groups["port"].Value);
            Assert.Equal(agent.Name, server.Groups["checkHost"].Value);
            Assert.Equal(agentPort, server.Groups["checkPort"].Value);
            Assert.Contains(agent.Name, haproxy.DependsOn);
        }
    }

    [Fact]
    public async Task HAProxy_accepts_the_fleet_configuration()
    {
        // Given: the file with the service names a container resolves made loopback, nothing else changed
        var haproxy = _fleet.Service("haproxy");
        var config = await File.ReadAllTextAsync(HAProxyConfigPath(haproxy));
        foreach (var name in Brokers.Select(b => b.Name).Concat(Agents.Select(a => a.Name)))
        {
            config = Regex.Replace(config, $@"(?<=[ ]){Regex.Escape(name)}(?=[: \n])", "127.0.0.1");
        }

        var path = Path.Combine(Path.GetTempPath(), $"haproxy-{Guid.NewGuid():N}.cfg");
        await File.WriteAllTextAsync(path, config);
        try
        {
            // When
            var result = await ProcessRunner.RunAsync(
                RequiredTools.Find("haproxy", "The fleet's tests run Debian's haproxy: install it with scripts/deps.sh (package haproxy, /usr/sbin/haproxy)."),
                ["-c", "-f", path]);

            // Then
            Assert.True(result.ExitCode == 0, result.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Fleet_prometheus_scrapes_the_central_worker_and_every_agent_and_loads_the_rules()
    {
        var prometheus = _fleet.Service("prometheus");
        var configPath = prometheus.Volumes.Single(v => v.Target == "/etc/prometheus/prometheus.yml").Source;
        var config = File.ReadAllText(configPath);

        Assert.Equal(Path.Combine(RuleFiles.Directory, "rules"), prometheus.Volumes.Single(v => v.Target == "/etc/prometheus/rules").Source);
        Assert.Contains("job_name: provisioning-worker\n", config, StringComparison.Ordinal);
        Assert.Contains("\"worker:8080\"", config, StringComparison.Ordinal);
        Assert.Contains("job_name: provisioning-broker-agent\n", config, StringComparison.Ordinal);
        foreach (var agent in Agents)
        {
            Assert.Contains($"\"{agent.Name}:{new Uri(agent.Environment["ASPNETCORE_URLS"]).Port.ToString(CultureInfo.InvariantCulture)}\"", config, StringComparison.Ordinal);
        }
    }

    private static string HAProxyConfigPath(ComposeService haproxy) =>
        haproxy.Volumes.Single(v => v.IsBindMount && v.Target == "/usr/local/etc/haproxy/haproxy.cfg").Source;

    [GeneratedRegex(@"^\s*server\s+(?<name>\S+)\s+(?<host>[^:\s]+):(?<port>\d+)\s+check\s+addr\s+(?<checkHost>\S+)\s+port\s+(?<checkPort>\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex Server();
}
