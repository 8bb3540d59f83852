using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>One message as it lies in a queue.</summary>
public sealed record QueuedMessage(Guid? MessageId, string? ContentType, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// Queues seen through AMQP only (no management plugin): exact depths by passive declare, and the messages of a queue
/// nobody consumes, read and put back. Works the same on the shared broker and on a private node.
/// </summary>
public sealed class QueueInspector(Uri amqpUri)
{
    /// <summary>The exact number of ready messages, or null when the queue does not exist.</summary>
    public async Task<uint?> CountAsync(string queue)
    {
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// Every message of <paramref name="queue"/>, in order; they stay in the queue (never acknowledged: closing the
    /// channel requeues them). Only for queues nobody consumes, such as <c>_error</c> and <c>_skipped</c>.
    /// </summary>
    public async Task<IReadOnlyList<QueuedMessage>> PeekAllAsync(string queue)
    {
        if (await CountAsync(queue) is null)
        {
            return [];
        }

        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var messages = new List<QueuedMessage>();
        while (await channel.BasicGetAsync(queue, autoAck: false) is { } result)
        {
            messages.Add(From(result.BasicProperties, result.Body));
        }

        return messages;
    }

    private Task<IConnection> ConnectAsync() =>
        new ConnectionFactory { Uri = amqpUri, RequestedConnectionTimeout = TimeSpan.FromSeconds(5) }.CreateConnectionAsync();

    private static QueuedMessage From(IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in properties.Headers ?? new Dictionary<string, object?>())
        {
            headers[key] = value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                null => string.Empty,
                _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty,
            };
        }

        var bytesCopy = body.ToArray();
        return new QueuedMessage(MessageIdOf(properties.MessageId, bytesCopy), properties.ContentType, headers, bytesCopy);
    }

    /// <summary>The AMQP message_id, else the envelope's messageId when the body is a MassTransit JSON envelope.</summary>
    private static Guid? MessageIdOf(string? property, byte[] body)
    {
        if (Guid.TryParse(property, out var id))
        {
            return id;
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("messageId", out var value)
                && Guid.TryParse(value.GetString(), out var envelopeId)
                    ? envelopeId
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
