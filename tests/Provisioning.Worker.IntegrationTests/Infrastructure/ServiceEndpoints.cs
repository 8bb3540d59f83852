using System.Net.Http.Headers;
using System.Text;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Networks;
using Provisioning.Worker.IntegrationTests.Containers;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// Where the real PostgreSQL and RabbitMQ (with its management API) are (docs/testing.md, "What the integration tests need"), shared
/// by every test of the <see cref="ServicesCollection"/>. The addresses come from the
/// environment first (<c>scripts/deps.sh</c> writes them to <c>.deps/env</c>); without them,
/// Testcontainers starts the services when a Docker engine answers, with the images, users and passwords of
/// <c>compose/docker-compose.yml</c> (<see cref="ComposeFile"/>: its <c>*_IMAGE</c> variables select the local images
/// that <c>scripts/containers.sh</c> builds). Tests never share state through it: each creates its own
/// <see cref="TestDatabase"/> and <see cref="TestVirtualHost"/>.
/// </summary>
public sealed class ServiceEndpoints : IAsyncLifetime
{
    /// <summary>Npgsql connection string to the server; the role needs CREATEDB.</summary>
    public const string PostgresVariable = "PROVISIONING_TEST_POSTGRES";

    /// <summary><c>amqp://user:pass@host:5672/</c>; the user needs the administrator tag.</summary>
    public const string RabbitMqVariable = "PROVISIONING_TEST_RABBITMQ";

    /// <summary><c>http://user:pass@host:15672</c>, the management HTTP API.</summary>
    public const string RabbitMqManagementVariable = "PROVISIONING_TEST_RABBITMQ_MANAGEMENT";

    private const ushort AmqpPort = 5672;
    private const ushort ManagementPort = 15672;

    private readonly INetwork? _network;
    private PostgreSqlContainer? _postgres;
    private RabbitMqContainer? _rabbitMq;
    private HttpClient? _management;

    /// <summary>Npgsql connection string to the server (its maintenance database).</summary>
    public string PostgresConnectionString { get; private set; } = string.Empty;

    /// <summary>The AMQP address of the broker's default virtual host, with credentials.</summary>
    public Uri RabbitMqUri { get; private set; } = null!;

    /// <summary>The management API's address, with credentials.</summary>
    public Uri RabbitMqManagementUri { get; private set; } = null!;

    /// <summary>The AMQP user, the one <see cref="TestVirtualHost"/> grants its permissions to.</summary>
    public string RabbitMqUser => Uri.UnescapeDataString(RabbitMqUri.UserInfo.Split(':', 2)[0]);

    /// <summary>Where the addresses came from: "environment" or "testcontainers".</summary>
    public string Source { get; private set; } = string.Empty;

    /// <summary>A client of the management API (base address <c>…:15672/</c>, basic authentication).</summary>
    public HttpClient Management => _management ?? throw new InvalidOperationException("ServiceEndpoints is not initialized.");

    /// <summary>From the environment when set, else Testcontainers.</summary>
    public ServiceEndpoints()
    {
    }

    /// <summary>
    /// Always Testcontainers, the containers on <paramref name="network"/> under their compose service names
    /// (<c>postgres</c>, <c>rabbitmq</c>), as the compose stack's worker finds them.
    /// </summary>
    internal ServiceEndpoints(INetwork network) => _network = network;

    /// <summary>The PostgreSQL container (Testcontainers mode only).</summary>
    public PostgreSqlContainer? PostgresContainer => _postgres;

    /// <summary>The RabbitMQ container (Testcontainers mode only).</summary>
    public RabbitMqContainer? RabbitMqContainer => _rabbitMq;

    public async Task InitializeAsync()
    {
        if (_network is not null)
        {
            await StartContainersAsync();
            return;
        }

        var postgres = Environment.GetEnvironmentVariable(PostgresVariable);
        var rabbitMq = Environment.GetEnvironmentVariable(RabbitMqVariable);
        var management = Environment.GetEnvironmentVariable(RabbitMqManagementVariable);
        var values = new[] { (PostgresVariable, postgres), (RabbitMqVariable, rabbitMq), (RabbitMqManagementVariable, management) };
        var missing = values.Where(v => string.IsNullOrWhiteSpace(v.Item2)).Select(v => v.Item1).ToArray();

        if (missing.Length == 0)
        {
            Use("environment", postgres!, Parse(RabbitMqVariable, rabbitMq!), Parse(RabbitMqManagementVariable, management!));
            return;
        }

        if (missing.Length < values.Length)
        {
            throw new InvalidOperationException(
                $"{string.Join(", ", missing)} not set while the other service variables are: set all three " +
                "(scripts/deps.sh writes them to .deps/env; scripts/test.sh exports them) or none to use Testcontainers.");
        }

        await StartContainersAsync();
    }

    public async Task DisposeAsync()
    {
        _management?.Dispose();
        if (_rabbitMq is not null)
        {
            await _rabbitMq.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    private async Task StartContainersAsync()
    {
        var compose = ComposeFile.Load();
        var postgresService = compose.Service("postgres");
        var rabbitMqService = compose.Service("rabbitmq");
        var postgresEnvironment = postgresService.Environment;
        var rabbitMqEnvironment = rabbitMqService.Environment;
        var rabbitMqUser = rabbitMqEnvironment["RABBITMQ_DEFAULT_USER"];
        var rabbitMqPassword = rabbitMqEnvironment["RABBITMQ_DEFAULT_PASS"];
        try
        {
            var postgres = new PostgreSqlBuilder(postgresService.Image)
                .WithUsername(postgresEnvironment["POSTGRES_USER"])
                .WithPassword(postgresEnvironment["POSTGRES_PASSWORD"])
                .WithDatabase(postgresEnvironment["POSTGRES_DB"]);
            var rabbitMq = new RabbitMqBuilder(rabbitMqService.Image)
                .WithUsername(rabbitMqUser)
                .WithPassword(rabbitMqPassword)
                .WithPortBinding(ManagementPort, assignRandomHostPort: true);
            if (_network is not null)
            {
                postgres = postgres.WithNetwork(_network).WithNetworkAliases(postgresService.Name);
                rabbitMq = rabbitMq.WithNetwork(_network).WithNetworkAliases(rabbitMqService.Name);
            }

            _postgres = postgres.Build();
            _rabbitMq = rabbitMq.Build();
            await Task.WhenAll(_postgres.StartAsync(), _rabbitMq.StartAsync());
        }
        catch (DockerUnavailableException e)
        {
            throw new InvalidOperationException(
                $"No services for the integration tests: {PostgresVariable}, {RabbitMqVariable} and {RabbitMqManagementVariable} " +
                "are not set and no Docker engine answers. Run scripts/test.sh (or scripts/deps.sh, then `. .deps/env` " +
                "before dotnet test): it installs and starts PostgreSQL and RabbitMQ on loopback and sets them. For the " +
                "container path, scripts/containers.sh starts an engine and builds the images (docs/testing.md).",
                e);
        }

        var host = _rabbitMq.Hostname;
        Use(
            "testcontainers",
            _postgres.GetConnectionString(),
            new UriBuilder("amqp", host, _rabbitMq.GetMappedPublicPort(AmqpPort), "/") { UserName = rabbitMqUser, Password = rabbitMqPassword }.Uri,
            new UriBuilder("http", host, _rabbitMq.GetMappedPublicPort(ManagementPort)) { UserName = rabbitMqUser, Password = rabbitMqPassword }.Uri);
    }

    private void Use(string source, string postgres, Uri rabbitMq, Uri management)
    {
        Source = source;
        PostgresConnectionString = postgres;
        RabbitMqUri = rabbitMq;
        RabbitMqManagementUri = management;

        var path = management.AbsolutePath.EndsWith('/') ? management.AbsolutePath : management.AbsolutePath + "/";
        _management = new HttpClient
        {
            BaseAddress = new UriBuilder(management.Scheme, management.Host, management.Port, path).Uri,
            Timeout = TimeSpan.FromSeconds(30),
        };
        var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(management.UserInfo)));
        _management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", credentials);
    }

    private static Uri Parse(string variable, string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && !string.IsNullOrEmpty(uri.UserInfo)
            ? uri
            : throw new InvalidOperationException($"{variable} is not an absolute URI with user:password@ ('{value}').");
}

/// <summary>The tests that use the real services; they share one <see cref="ServiceEndpoints"/>.</summary>
[CollectionDefinition(Name)]
public sealed class ServicesCollection : ICollectionFixture<ServiceEndpoints>
{
    public const string Name = "services";
}
