using System.Globalization;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using DotNet.Testcontainers.Volumes;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Containers;

/// <summary>
/// The fleet stack as <c>compose/docker-compose.fleet.yml</c> wires it, run through Testcontainers (Compose v2 is not to
/// be had here): on one network, PostgreSQL and RabbitMQ from <see cref="ServiceEndpoints"/>, each Mosquitto replica,
/// its agent (the worker image with <c>agent</c>, the file's environment and volumes, in its broker's pid namespace),
/// HAProxy with <c>compose/haproxy/haproxy.cfg</c>, the key ring's one-shot step and the central worker. Each replica's
/// listener is published too (the file does not), so that the test reaches every replica directly.
/// </summary>
[Trait("Category", "Containers")]
public sealed class FleetComposeStackTests : IAsyncLifetime
{
    private const ushort MqttPort = 1883;
    private const ushort HttpPort = 8080;
    private const ushort StatsPort = 8404;
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(90);

    private readonly Dictionary<string, IVolume> _volumes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IContainer> _containers = new(StringComparer.Ordinal);
    private INetwork? _network;
    private ServiceEndpoints? _endpoints;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(ComposeStack.UnavailableVariable) is { Length: > 0 } reason)
        {
            throw new InvalidOperationException($"The container path is not available on this machine: {reason}");
        }

        _network = new NetworkBuilder().WithName($"provisioning-fleet-it-{Guid.NewGuid():N}").Build();
        await _network.CreateAsync();
        _endpoints = new ServiceEndpoints(_network);
        await _endpoints.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var container in _containers.Values.Reverse())
        {
            await container.DisposeAsync();
        }

        if (_endpoints is not null)
        {
            await _endpoints.DisposeAsync();
        }

        foreach (var volume in _volumes.Values)
        {
            await volume.DisposeAsync();
        }

        if (_network is not null)
        {
            await _network.DisposeAsync();
        }
    }

    [Fact]
    public async Task Fleet_stack_tells_devices_HAProxy_and_every_replica_accepts_then_refuses_the_credential()
    {
        // Given: the file's replicas and agents, HAProxy in front, the central worker behind
        var file = ComposeFile.Load(new Dictionary<string, string>(), ComposeFile.FleetFileName);
        var agents = file.ServiceNames.Select(file.Service).Where(s => s.Command.SequenceEqual(["agent"])).ToList();
        Assert.True(agents.Count >= 2, $"{file.Path} has {agents.Count} agent(s)");
        foreach (var agent in agents)
        {
            var broker = file.Service(agent.PidNamespaceOf!);
            var brokerContainer = await StartAsync(broker, builder => builder
                .WithEntrypoint([.. broker.Entrypoint])
                .WithCommand([.. broker.Command])
                .WithPortBinding(MqttPort, assignRandomHostPort: true)
                .WithCreateParameterModifier(parameters =>
                {
                    parameters.HostConfig ??= new HostConfig();
                    parameters.HostConfig.Init = broker.Init;
                    parameters.Healthcheck = Healthcheck(broker);
                })
                .WithWaitStrategy(Wait.ForUnixContainer().UntilContainerIsHealthy()));
            await StartAsync(agent, builder => builder
                .WithCommand([.. agent.Command])
                .WithEnvironment(agent.Environment)
                .WithPortBinding(HttpPort, assignRandomHostPort: true)
                .WithCreateParameterModifier(parameters =>
                {
                    parameters.HostConfig ??= new HostConfig();
                    parameters.HostConfig.PidMode = $"container:{brokerContainer.Id}";
                    parameters.Healthcheck = Healthcheck(agent);
                })
                .WithWaitStrategy(Wait.ForUnixContainer().UntilContainerIsHealthy()));
        }

        var haproxyService = file.Service("haproxy");
        var haproxy = await StartAsync(haproxyService, builder => builder
            .WithCommand([.. haproxyService.Command])
            .WithPortBinding(MqttPort, assignRandomHostPort: true)
            .WithPortBinding(StatsPort, assignRandomHostPort: true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Loading success")));
        var (publicHost, publicPort) = (haproxy.Hostname, haproxy.GetMappedPublicPort(MqttPort));

        // And: HAProxy's health check reaches every agent's /health/ready (a layer-7 pass, not the initial state)
        var checks = await WaitForChecksAsync(new Uri($"http://{haproxy.Hostname}:{haproxy.GetMappedPublicPort(StatsPort).ToString(CultureInfo.InvariantCulture)}/;csv"));
        Assert.Equal(agents.Select(a => a.Environment["Agent__Broker"]).Order(StringComparer.Ordinal), checks.Keys.Order(StringComparer.Ordinal));

        var keys = file.Service("worker-keys");
        var keysContainer = await StartAsync(keys, builder => builder
            .WithEntrypoint([.. keys.Entrypoint])
            .WithCommand([.. keys.Command])
            .WithCreateParameterModifier(parameters => parameters.User = keys.User ?? "0:0"));
        await WaitForExitAsync(keysContainer);
        Assert.Equal(0, await keysContainer.GetExitCodeAsync());

        var central = ComposeFile.Load(
            new Dictionary<string, string>
            {
                ["MQTT_PUBLIC_HOST"] = publicHost,
                ["MQTT_PUBLIC_PORT"] = publicPort.ToString(CultureInfo.InvariantCulture),
            },
            ComposeFile.FleetFileName).Service("worker");
        await StartAsync(central, builder => builder
            .WithEnvironment(central.Environment)
            .WithPortBinding(HttpPort, assignRandomHostPort: true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilContainerIsHealthy()));

        var replies = new ReplyCollector();
        var bus = await PipelineHarness.StartUpstreamBusAsync(_endpoints!.RabbitMqUri, replies);
        try
        {
            var tenant = "acme";
            var device = $"fleet-{Guid.NewGuid():N}"[..20];
            Func<string> logs = () => LogsAsync().GetAwaiter().GetResult();

            // When: a registration
            await bus.Publish(new Provisioning.Contracts.DeviceRegistered { TenantId = tenant, DeviceId = device });
            var issued = (await replies.WaitForOneAsync(nameof(Provisioning.Contracts.CredentialsIssued), tenant, device, _timeout, logs)).Issued;

            // Then: the device is told HAProxy, and the credential works there and on every replica directly, at once
            Assert.Equal((publicHost, publicPort), (issued.BrokerHost, issued.BrokerPort));
            Assert.NotEmpty(issued.Topics);
            for (var i = 0; i < 5; i++)
            {
                Assert.True(await MosquittoBroker.CanConnectAsync(publicHost, publicPort, issued.Username, issued.Password!, logs), $"refused through HAProxy:\n{logs()}");
            }

            foreach (var agent in agents)
            {
                var replica = _containers[agent.PidNamespaceOf!];
                Assert.True(
                    await MosquittoBroker.CanConnectAsync(replica.Hostname, replica.GetMappedPublicPort(MqttPort), issued.Username, issued.Password!, logs),
                    $"{agent.PidNamespaceOf} refuses the credential it was said to hold:\n{logs()}");
            }

            // When: its deletion
            await bus.Publish(new Provisioning.Contracts.DeviceDeleted { TenantId = tenant, DeviceId = device });
            await replies.WaitForOneAsync(nameof(Provisioning.Contracts.CredentialsRevoked), tenant, device, _timeout, logs);

            // Then: every replica refuses it, and so does HAProxy
            foreach (var agent in agents)
            {
                var replica = _containers[agent.PidNamespaceOf!];
                Assert.False(
                    await MosquittoBroker.CanConnectAsync(replica.Hostname, replica.GetMappedPublicPort(MqttPort), issued.Username, issued.Password!, logs),
                    $"{agent.PidNamespaceOf} still accepts a revoked credential:\n{logs()}");
            }

            Assert.False(await MosquittoBroker.CanConnectAsync(publicHost, publicPort, issued.Username, issued.Password!, logs));
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    private async Task<IContainer> StartAsync(ComposeService service, Func<ContainerBuilder, ContainerBuilder> configure)
    {
        var builder = new ContainerBuilder(service.Image).WithNetwork(_network!).WithNetworkAliases(service.Name);
        foreach (var volume in service.Volumes)
        {
            var access = volume.ReadOnly ? AccessMode.ReadOnly : AccessMode.ReadWrite;
            if (volume.IsBindMount)
            {
                builder = builder.WithBindMount(volume.Source, volume.Target, access);
                continue;
            }

            if (!_volumes.TryGetValue(volume.Source, out var named))
            {
                named = new VolumeBuilder().WithName($"provisioning-fleet-it-{volume.Source}-{Guid.NewGuid():N}").Build();
                _volumes[volume.Source] = named;
            }

            builder = builder.WithVolumeMount(named, volume.Target, access);
        }

        var container = configure(builder).Build();
        _containers[service.Name] = container;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await container.StartAsync(timeout.Token);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"the {service.Name} container did not start ({container.Health}):\n{await LogsAsync()}", e);
        }

        return container;
    }

    private static HealthcheckConfig Healthcheck(ComposeService service) => new()
    {
        Test = [.. service.HealthcheckTest],
        Interval = TimeSpan.FromSeconds(1),
        Timeout = TimeSpan.FromSeconds(5),
        Retries = 90,
    };

    /// <summary>HAProxy's stats (CSV): once every server is UP after a passed layer-7 check, each server's status.</summary>
    private async Task<IReadOnlyDictionary<string, string>> WaitForChecksAsync(Uri stats)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + _timeout;
        var last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await http.GetStringAsync(stats);
                var lines = last.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                var header = lines[0].TrimStart('#', ' ').Split(',');
                int Column(string name) => Array.IndexOf(header, name);
                var servers = lines.Skip(1).Select(l => l.Split(','))
                    .Where(f => f[Column("svname")] is not ("FRONTEND" or "BACKEND") && f[Column("pxname")] != "stats")
                    .ToDictionary(f => f[Column("svname")], f => $"{f[Column("status")]} {f[Column("check_status")]}", StringComparer.Ordinal);
                if (servers.Count > 0 && servers.Values.All(v => v == "UP L7OK"))
                {
                    return servers;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(500);
        }

        throw new Xunit.Sdk.XunitException($"HAProxy's checks of the agents did not all pass within {_timeout}:\n{last}\n{await LogsAsync()}");
    }

    private static async Task WaitForExitAsync(IContainer container)
    {
        // Docker's own wait (GetExitCodeAsync): IContainer.State is what the last inspect saw, and a one-shot container
        // that exited after it never looked exited (CI saw this flake).
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await container.GetExitCodeAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{container.Name} did not exit within 60 s");
        }
    }

    private async Task<string> LogsAsync()
    {
        var text = new System.Text.StringBuilder();
        foreach (var (name, container) in _containers)
        {
            try
            {
                var (stdout, stderr) = await container.GetLogsAsync();
                text.Append(CultureInfo.InvariantCulture, $"--- {name} ({container.State}) ---\n{Tail(stdout)}\n{Tail(stderr)}\n");
            }
            catch (Exception e) when (e is InvalidOperationException or Docker.DotNet.DockerApiException)
            {
                text.Append(CultureInfo.InvariantCulture, $"--- {name}: no logs ({e.Message}) ---\n");
            }
        }

        return text.ToString();
    }

    private static string Tail(string text) => text.Length <= 3000 ? text : text[^3000..];
}
