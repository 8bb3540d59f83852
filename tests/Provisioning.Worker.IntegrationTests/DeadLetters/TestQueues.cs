using System.Globalization;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Provisioning.Worker.IntegrationTests.DeadLetters;

/// <summary>A message as the tests put it on a queue or read it back, independently of the code under test.</summary>
public sealed record QueuedMessage(string? MessageId, string? ContentType, IReadOnlyDictionary<string, object?> Headers, byte[] Body, bool Persistent)
{
    public string? Header(string key) => Headers.TryGetValue(key, out var value) ? value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        null => null,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    } : null;
}

/// <summary>
/// Plain RabbitMQ.Client access to a test vhost: declares queues the way MassTransit does (durable, classic), fills
/// a dead-letter queue with messages shaped like the ones MassTransit dead-letters, and reads queues back.
/// </summary>
public sealed class TestQueues : IAsyncDisposable
{
    public const string Source = "device-registered";
    public const string Error = "device-registered_error";
    public const string FaultType = "Npgsql.NpgsqlException";
    public const string FaultMessage = "Failed to connect to 127.0.0.1:5432";
    public const string FaultTime = "2026-11-23T09:15:42.1234567Z";

    private readonly IConnection _connection;
    private readonly string _virtualHost;

    private TestQueues(IConnection connection, string virtualHost)
    {
        _connection = connection;
        _virtualHost = virtualHost;
    }

    public static async Task<TestQueues> ConnectAsync(Uri amqpUri, params string[] declare)
    {
        var connection = await new ConnectionFactory { Uri = amqpUri, ClientProvidedName = "dead-letter tests" }.CreateConnectionAsync();
        var queues = new TestQueues(connection, Uri.UnescapeDataString(amqpUri.AbsolutePath.TrimStart('/')));
        await using var channel = await connection.CreateChannelAsync();
        foreach (var queue in declare)
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        }

        return queues;
    }

    /// <summary>A DeviceRegistered in MassTransit's JSON envelope.</summary>
    public static byte[] Envelope(string messageId, string tenantId, string deviceId) => JsonSerializer.SerializeToUtf8Bytes(new
    {
        messageId,
        conversationId = Guid.NewGuid().ToString(),
        sourceAddress = "rabbitmq://127.0.0.1/upstream/upstream_bus",
        destinationAddress = "rabbitmq://127.0.0.1/upstream/Provisioning.Contracts:DeviceRegistered",
        messageType = new[] { "urn:message:Provisioning.Contracts:DeviceRegistered" },
        message = new { tenantId, deviceId },
        sentTime = "2026-11-23T09:15:40.0000000Z",
        headers = new { },
    });

    /// <summary>The transport headers MassTransit 8.5 writes when it moves a faulted message to <c>_error</c>.</summary>
    public Dictionary<string, object?> FaultHeaders(int? replayCount = null)
    {
        var headers = new Dictionary<string, object?>
        {
            ["MT-Reason"] = "fault",
            ["MT-Fault-ExceptionType"] = FaultType,
            ["MT-Fault-Message"] = FaultMessage,
            ["MT-Fault-Timestamp"] = FaultTime,
            ["MT-Fault-InputAddress"] = $"rabbitmq://127.0.0.1/{Uri.EscapeDataString(_virtualHost)}/{Source}",
            ["MT-Fault-ConsumerType"] = "Provisioning.Worker.Consumers.DeviceRegisteredConsumer",
            ["MT-Fault-MessageType"] = "Provisioning.Contracts.DeviceRegistered",
            ["MT-Fault-RetryCount"] = 5,
            ["MT-Fault-StackTrace"] = "   at Npgsql.Internal.NpgsqlConnector.Connect()",
            ["MT-Host-MachineName"] = "worker-host",
            ["MT-Host-ProcessName"] = "Provisioning.Worker",
            ["MT-Fault-Address"] = "rabbitmq://127.0.0.1/upstream/upstream_faults",
            ["custom"] = "kept",
        };
        if (replayCount is { } count)
        {
            headers["Provisioning-Replay-Count"] = count;
        }

        return headers;
    }

    /// <summary>Puts DeviceRegistered messages on the error queue, in order, as MassTransit would have dead-lettered them; their ids.</summary>
    public async Task<IReadOnlyList<string>> DeadLetterAsync(int count, string tenantId = "acme", int? replayCount = null)
    {
        var ids = new List<string>(count);
        await using var channel = await _connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var pending = new List<ValueTask>();
        for (var i = 0; i < count; i++)
        {
            var id = Guid.NewGuid().ToString();
            ids.Add(id);
            var properties = new BasicProperties
            {
                MessageId = id,
                ContentType = "application/vnd.masstransit+json",
                Persistent = true,
                Headers = FaultHeaders(replayCount),
            };
            pending.Add(channel.BasicPublishAsync(string.Empty, Error, mandatory: true, properties, (ReadOnlyMemory<byte>)Envelope(id, tenantId, $"d{i:D4}")));
            if (pending.Count == 256)
            {
                await AwaitAllAsync(pending);
            }
        }

        await AwaitAllAsync(pending);
        return ids;
    }

    public async Task PublishRawAsync(string queue, BasicProperties properties, byte[] body)
    {
        await using var channel = await _connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.BasicPublishAsync(string.Empty, queue, mandatory: true, properties, (ReadOnlyMemory<byte>)body);
    }

    /// <summary>Every message in the queue, head first, leaving them in place (read unacknowledged, then the channel closes).</summary>
    public async Task<IReadOnlyList<QueuedMessage>> PeekAllAsync(string queue) => await ReadAsync(queue, remove: false);

    /// <summary>Takes every message out of the queue, head first.</summary>
    public async Task<IReadOnlyList<QueuedMessage>> DrainAsync(string queue) => await ReadAsync(queue, remove: true);

    /// <summary>Ready messages, exactly (a passive declare; no statistics lag).</summary>
    public async Task<uint> CountAsync(string queue)
    {
        await using var channel = await _connection.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
    }

    public async Task<bool> ExistsAsync(string queue)
    {
        await using var channel = await _connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclarePassiveAsync(queue);
            return true;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.CloseAsync();
        await _connection.DisposeAsync();
    }

    private async Task<IReadOnlyList<QueuedMessage>> ReadAsync(string queue, bool remove)
    {
        var messages = new List<QueuedMessage>();
        await using var channel = await _connection.CreateChannelAsync();
        while (await channel.BasicGetAsync(queue, autoAck: remove) is { } result)
        {
            var headers = result.BasicProperties.Headers is { } h ? new Dictionary<string, object?>(h) : [];
            messages.Add(new QueuedMessage(result.BasicProperties.MessageId, result.BasicProperties.ContentType, headers, result.Body.ToArray(), result.BasicProperties.Persistent));
        }

        await channel.CloseAsync();
        return messages;
    }

    private static async Task AwaitAllAsync(List<ValueTask> pending)
    {
        foreach (var publish in pending)
        {
            await publish;
        }

        pending.Clear();
    }
}
