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
/// The compose stack as <c>compose/docker-compose.yml</c> wires it, run through Testcontainers (Compose v2 is not to be had
/// here, Debian's Compose v1 refuses the file): one network on which the containers answer to their service names,
/// PostgreSQL and RabbitMQ from <see cref="ServiceEndpoints"/> in its Testcontainers mode, Mosquitto with the file's
/// entrypoint, command, init, volumes and health check, and on demand the worker image with the file's environment and
/// volumes in Mosquitto's pid namespace. Images are the file's, so <c>scripts/containers.sh</c>'s <c>*_IMAGE</c> and
/// <c>WORKER_TAG</c> variables select the local ones.
/// </summary>
public sealed class ComposeStack : IAsyncLifetime
{
    /// <summary>Set by scripts/test.sh when scripts/containers.sh failed: the reason, which every container test reports.</summary>
    public const string UnavailableVariable = "PROVISIONING_CONTAINERS_UNAVAILABLE";

    private const ushort MqttPort = 1883;
    private const ushort WorkerHttpPort = 8080;

    private readonly Dictionary<string, IVolume> _volumes = new(StringComparer.Ordinal);
    private INetwork? _network;
    private ServiceEndpoints? _endpoints;
    private IContainer? _mosquitto;

    public ServiceEndpoints Endpoints => _endpoints ?? throw new InvalidOperationException("the stack is not started");

    public IContainer Mosquitto => _mosquitto ?? throw new InvalidOperationException("the stack is not started");

    private INetwork Network => _network ?? throw new InvalidOperationException("the stack is not started");

    /// <summary>The host and port of Mosquitto's published listener, where devices connect from outside.</summary>
    public (string Host, int Port) MosquittoEndpoint => (Mosquitto.Hostname, Mosquitto.GetMappedPublicPort(MqttPort));

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(UnavailableVariable) is { Length: > 0 } reason)
        {
            throw new InvalidOperationException($"The container path is not available on this machine: {reason}");
        }

        try
        {
            _network = new NetworkBuilder().WithName($"provisioning-it-{Guid.NewGuid():N}").Build();
            await _network.CreateAsync();
        }
        catch (DockerUnavailableException e)
        {
            throw new InvalidOperationException(
                "No Docker engine answers for the container tests: run scripts/containers.sh (it starts one and builds the " +
                "images), then `set -a; . .deps/containers.env; set +a` (docs/testing.md, \"The container path\").",
                e);
        }
        _endpoints = new ServiceEndpoints(_network);
        await _endpoints.InitializeAsync();

        var service = ComposeFile.Load().Service("mosquitto");
        var mosquitto = WithVolumes(new ContainerBuilder(service.Image), service)
            .WithNetwork(Network)
            .WithNetworkAliases(service.Name)
            .WithEntrypoint([.. service.Entrypoint])
            .WithCommand([.. service.Command])
            .WithPortBinding(MqttPort, assignRandomHostPort: true)
            .WithCreateParameterModifier(parameters =>
            {
                parameters.HostConfig ??= new HostConfig();
                parameters.HostConfig.Init = service.Init;
                parameters.Healthcheck = new HealthcheckConfig
                {
                    Test = [.. service.HealthcheckTest],
                    Interval = TimeSpan.FromSeconds(1),
                    Timeout = TimeSpan.FromSeconds(5),
                    Retries = 30,
                };
            })
            .WithWaitStrategy(Wait.ForUnixContainer().UntilContainerIsHealthy())
            .Build();
        _mosquitto = mosquitto;
        await mosquitto.StartAsync();
    }

    /// <summary>
    /// The worker service of the file: its image, its environment (the device-facing broker address set to Mosquitto's
    /// published port, through the file's own MQTT_PUBLIC_HOST / MQTT_PUBLIC_PORT), its volumes, Mosquitto's pid namespace;
    /// started, and waited for until the image's own health check passes.
    /// </summary>
    public async Task<IContainer> StartWorkerAsync()
    {
        var (host, port) = MosquittoEndpoint;
        var compose = ComposeFile.Load(new Dictionary<string, string>
        {
            ["MQTT_PUBLIC_HOST"] = host,
            ["MQTT_PUBLIC_PORT"] = port.ToString(CultureInfo.InvariantCulture),
        });
        var service = compose.Service("worker");
        var pidNamespace = service.PidNamespaceOf == "mosquitto"
            ? $"container:{Mosquitto.Id}"
            : throw new InvalidOperationException($"{compose.Path}: the worker no longer joins Mosquitto's pid namespace (pid: service:mosquitto)");
        var worker = WithVolumes(new ContainerBuilder(service.Image), service)
            .WithNetwork(Network)
            .WithEnvironment(service.Environment)
            .WithPortBinding(WorkerHttpPort, assignRandomHostPort: true)
            .WithCreateParameterModifier(parameters =>
            {
                parameters.HostConfig ??= new HostConfig();
                parameters.HostConfig.PidMode = pidNamespace;
            })
            .WithWaitStrategy(Wait.ForUnixContainer().UntilContainerIsHealthy())
            .Build();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await worker.StartAsync(timeout.Token);
        }
        catch (Exception e) when (e is not InvalidOperationException)
        {
            var health = worker.Health;
            var (stdout, stderr) = await worker.GetLogsAsync();
            await worker.DisposeAsync();
            throw new InvalidOperationException($"the worker container did not become healthy ({health}):\n{stdout}\n{stderr}", e);
        }

        return worker;
    }

    /// <summary>What the containers printed, for a failure message.</summary>
    public async Task<string> LogsAsync(params IContainer?[] containers)
    {
        var text = new System.Text.StringBuilder();
        foreach (var container in containers.Append(_mosquitto))
        {
            if (container is null)
            {
                continue;
            }

            var (stdout, stderr) = await container.GetLogsAsync();
            text.Append(CultureInfo.InvariantCulture, $"--- {container.Image.FullName} ({container.State}) ---\n{Tail(stdout)}\n{Tail(stderr)}\n");
        }

        return text.ToString();
    }

    public async Task DisposeAsync()
    {
        if (_mosquitto is not null)
        {
            await _mosquitto.DisposeAsync();
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

    private static string Tail(string text) => text.Length <= 6000 ? text : text[^6000..];

    /// <summary>The service's volumes: its bind mounts as they are, its named volumes one Docker volume each, shared across services.</summary>
    private ContainerBuilder WithVolumes(ContainerBuilder builder, ComposeService service)
    {
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
                named = new VolumeBuilder().WithName($"provisioning-it-{volume.Source}-{Guid.NewGuid():N}").Build();
                _volumes[volume.Source] = named;
            }

            builder = builder.WithVolumeMount(named, volume.Target, access);
        }

        return builder;
    }
}
