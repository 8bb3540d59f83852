using System.Globalization;
using System.Text;
using MassTransit;
using Provisioning.Contracts;
using Provisioning.Worker.Mosquitto;
using RabbitMQ.Client;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// One isolated world per test: a fresh database, a fresh RabbitMQ vhost, a real Mosquitto with its own passwd
/// file, the worker as a separate process, and a MassTransit bus playing the upstream app.
/// </summary>
public sealed class PipelineHarness : IAsyncDisposable
{
    /// <summary>The platform's own service account, as an operator adds it; the worker must keep it byte for byte.</summary>
    public const string OperatorUser = "service-pulse";
    public const string OperatorPassword = "pulse-service-password";
    public static readonly string OperatorLine = $"{OperatorUser}:{MosquittoPasswordHash.Create(OperatorPassword, 101)}";

    /// <summary>The operator's own acl_file block, as docs/topic-authorization.md tells operators to write it.</summary>
    public const string OperatorAclBlock = "# platform services\nuser service-pulse\ntopic readwrite #\n";

    private readonly List<string> _workerLogs = [];

    private PipelineHarness(TestDatabase database, TestVirtualHost virtualHost, MosquittoBroker broker, IBusControl bus, ReplyCollector replies)
    {
        Database = database;
        VirtualHost = virtualHost;
        Broker = broker;
        Bus = bus;
        Replies = replies;
    }

    public TestDatabase Database { get; }

    public TestVirtualHost VirtualHost { get; }

    public MosquittoBroker Broker { get; }

    public IBusControl Bus { get; }

    public ReplyCollector Replies { get; }

    public WorkerProcess? Worker { get; private set; }

    /// <summary>Everything the worker printed, across restarts.</summary>
    public string WorkerLogs => string.Join("\n--- restart ---\n", _workerLogs.Append(Worker is null ? string.Empty : Worker.Stdout + Worker.Stderr));

    /// <summary>A world; with <paramref name="withAclFile"/> the broker reads an acl_file (holding the operator's block) that the worker manages.</summary>
    public static async Task<PipelineHarness> StartAsync(ServiceEndpoints endpoints, bool withOperatorLine = true, bool withAclFile = false)
    {
        var database = await TestDatabase.CreateAsync(endpoints);
        var virtualHost = await TestVirtualHost.CreateAsync(endpoints);
        var broker = await MosquittoBroker.StartAsync(
            withOperatorLine ? Encoding.UTF8.GetBytes(OperatorLine + "\n") : null,
            withAclFile ? Encoding.UTF8.GetBytes(OperatorAclBlock) : null);
        var replies = new ReplyCollector();
        var bus = await StartUpstreamBusAsync(virtualHost.AmqpUri, replies);
        return new PipelineHarness(database, virtualHost, broker, bus, replies);
    }

    /// <summary>The upstream app's bus on the virtual host of <paramref name="amqpUri"/>, its replies into <paramref name="replies"/>.</summary>
    public static async Task<IBusControl> StartUpstreamBusAsync(Uri amqpUri, ReplyCollector replies)
    {
        ArgumentNullException.ThrowIfNull(amqpUri);
        var credentials = Uri.UnescapeDataString(amqpUri.UserInfo).Split(':', 2);
        var bus = MassTransit.Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            var virtualHost = Uri.UnescapeDataString(amqpUri.AbsolutePath.TrimStart('/'));
            rabbit.Host(amqpUri.Host, (ushort)amqpUri.Port, virtualHost.Length == 0 ? "/" : virtualHost, host =>
            {
                host.Username(credentials[0]);
                host.Password(credentials[1]);
            });
            rabbit.ReceiveEndpoint("upstream-replies", replies.Configure);
        });
        await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        return bus;
    }

    public Dictionary<string, string?> WorkerEnvironment() => new()
    {
        ["Mosquitto__AclFile"] = Broker.HasAclFile ? Broker.AclFile : null,
        ["ConnectionStrings__Provisioning"] = Database.ConnectionString,
        ["RabbitMq__Uri"] = VirtualHost.AmqpUri.ToString(),
        ["Mosquitto__PasswdFile"] = Broker.PasswdFile,
        ["Mosquitto__PidFile"] = Broker.PidFile,
        ["Mosquitto__BrokerHost"] = "127.0.0.1",
        ["Mosquitto__BrokerPort"] = Broker.Port.ToString(CultureInfo.InvariantCulture),
        ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        ["Serilog__MinimumLevel__Default"] = "Information",
        ["Serilog__MinimumLevel__Override__MassTransit"] = "Information",
    };

    /// <summary>
    /// Starts the worker and waits until it is ready: the file rendered once and the bus started (its queues bound;
    /// a message published before that would find no binding and be dropped by the exchange).
    /// </summary>
    public async Task<WorkerProcess> StartWorkerAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        if (Worker is { } previous)
        {
            _workerLogs.Add(previous.Stdout + previous.Stderr);
            await previous.DisposeAsync();
        }

        var environment = WorkerEnvironment();
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        var worker = WorkerProcess.Start([], environment);
        Worker = worker;
        await WorkerHttp.WaitUntilReadyAsync(worker, () => $"{WorkerLogs}\n{Broker.Log}");
        return worker;
    }

    public Task PublishRegisteredAsync(string? tenantId, string? deviceId, DateTimeOffset? occurredAt = null, Guid? messageId = null) =>
        Bus.Publish(new DeviceRegistered { TenantId = tenantId, DeviceId = deviceId, OccurredAt = occurredAt }, context => context.MessageId = messageId ?? NewId.NextGuid());

    public Task PublishDeletedAsync(string? tenantId, string? deviceId, DateTimeOffset? occurredAt = null, Guid? messageId = null) =>
        Bus.Publish(new DeviceDeleted { TenantId = tenantId, DeviceId = deviceId, OccurredAt = occurredAt }, context => context.MessageId = messageId ?? NewId.NextGuid());

    /// <summary>Puts raw bytes on a queue, as a misbehaving upstream app could.</summary>
    public async Task SendRawAsync(string queue, byte[] body, string contentType, string? messageType = null)
    {
        var factory = new ConnectionFactory { Uri = VirtualHost.AmqpUri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var properties = new BasicProperties { ContentType = contentType, MessageId = Guid.NewGuid().ToString(), Persistent = true };
        if (messageType is not null)
        {
            properties.Type = messageType;
        }

        await channel.BasicPublishAsync(string.Empty, queue, mandatory: true, properties, body);
    }

    /// <summary>The device lines of the passwd file, as (username, hash).</summary>
    public IReadOnlyList<(string Username, string Hash)> DeviceLines() =>
        File.ReadAllLines(Broker.PasswdFile)
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2 && Devices.DeviceIdentity.IsDeviceUsername(parts[0]))
            .Select(parts => (parts[0], parts[1]))
            .ToList();

    /// <summary>The operator's line is still there, unchanged, and the broker still accepts the account.</summary>
    public async Task AssertOperatorAccountIntactAsync()
    {
        Assert.Contains(OperatorLine + "\n", await File.ReadAllTextAsync(Broker.PasswdFile), StringComparison.Ordinal);
        Assert.True(await Broker.CanConnectAsync(OperatorUser, OperatorPassword), "the operator's service account no longer connects");
    }

    public string Diagnostics() => $"--- worker ---\n{WorkerLogs}\n--- mosquitto ---\n{Tail(Broker.Log, 4000)}";

    private static string Tail(string text, int length) => text.Length <= length ? text : text[^length..];

    public async ValueTask DisposeAsync()
    {
        if (Worker is { } worker)
        {
            await worker.DisposeAsync();
        }

        await Bus.StopAsync();
        await Broker.DisposeAsync();
        await VirtualHost.DisposeAsync();
        await Database.DisposeAsync();
    }
}
