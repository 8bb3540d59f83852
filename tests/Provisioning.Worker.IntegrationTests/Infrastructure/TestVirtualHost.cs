using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// A fresh, uniquely named RabbitMQ virtual host for one test, made and deleted through the
/// management HTTP API: its exchanges, queues and messages go with it on dispose. The
/// <see cref="ServiceEndpoints.RabbitMqUser"/> gets every permission in it.
/// </summary>
public sealed class TestVirtualHost : IAsyncDisposable
{
    private static readonly TimeSpan _defaultWait = TimeSpan.FromSeconds(15);

    private readonly HttpClient _management;
    private readonly string _escapedName;

    private TestVirtualHost(HttpClient management, string name, Uri amqpUri)
    {
        _management = management;
        Name = name;
        _escapedName = Uri.EscapeDataString(name);
        AmqpUri = amqpUri;
    }

    /// <summary>The virtual host's name: <c>test-</c> and 32 hex digits.</summary>
    public string Name { get; }

    /// <summary><c>amqp://user:pass@host:port/{vhost}</c> (the name escaped), for RabbitMQ.Client or MassTransit.</summary>
    public Uri AmqpUri { get; }

    public static async Task<TestVirtualHost> CreateAsync(ServiceEndpoints endpoints, CancellationToken cancellationToken = default)
    {
        var name = $"test-{Guid.NewGuid():N}";
        var escaped = Uri.EscapeDataString(name);
        var management = endpoints.Management;

        using (var created = await management.PutAsJsonAsync($"api/vhosts/{escaped}", new { description = "integration test" }, cancellationToken))
        {
            await EnsureSuccessAsync(created, $"create virtual host {name}", cancellationToken);
        }

        var user = Uri.EscapeDataString(endpoints.RabbitMqUser);
        var permissions = new { configure = ".*", write = ".*", read = ".*" };
        using (var granted = await management.PutAsJsonAsync($"api/permissions/{escaped}/{user}", permissions, cancellationToken))
        {
            await EnsureSuccessAsync(granted, $"grant {endpoints.RabbitMqUser} permissions on {name}", cancellationToken);
        }

        var amqpUri = new UriBuilder(endpoints.RabbitMqUri) { Path = "/" + escaped }.Uri;
        return new TestVirtualHost(management, name, amqpUri);
    }

    /// <summary>Whether the queue exists; MassTransit declares an <c>_error</c> queue only when it first dead-letters.</summary>
    public async Task<bool> QueueExistsAsync(string queue, CancellationToken cancellationToken = default)
    {
        using var response = await _management.GetAsync(QueuePath(queue), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        await EnsureSuccessAsync(response, $"read queue {queue}", cancellationToken);
        return true;
    }

    /// <summary>
    /// The number of messages in the queue as the management API reports it, or null while the
    /// broker has not reported it yet. The count lags the queue by up to the broker's
    /// <c>collect_statistics_interval</c> (1 s with scripts/deps.sh, 5 s by default): to assert
    /// a depth, prefer <see cref="WaitForQueueDepthAsync"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The queue does not exist.</exception>
    public async Task<long?> GetQueueDepthAsync(string queue, CancellationToken cancellationToken = default)
    {
        using var response = await _management.GetAsync(QueuePath(queue), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new InvalidOperationException($"Queue '{queue}' does not exist in virtual host {Name}.");
        }

        await EnsureSuccessAsync(response, $"read queue {queue}", cancellationToken);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return json.RootElement.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Number
            ? messages.GetInt64()
            : null;
    }

    /// <summary>Waits until the management API reports <paramref name="expected"/> messages in the queue (15 s by default).</summary>
    public async Task WaitForQueueDepthAsync(string queue, long expected, TimeSpan? timeout = null)
    {
        long? depth = null;
        string? problem = null;
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    depth = await GetQueueDepthAsync(queue);
                    problem = null;
                    return depth == expected;
                }
                catch (InvalidOperationException e)
                {
                    problem = e.Message;
                    return false;
                }
            },
            timeout ?? _defaultWait,
            $"Queue '{queue}' in {Name} did not hold {expected} messages",
            () => $"last seen: {problem ?? depth?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no count yet"}",
            TimeSpan.FromMilliseconds(200));
    }

    /// <summary>
    /// Reads up to <paramref name="count"/> messages from the head of the queue and puts them
    /// back (<c>ackmode=ack_requeue_true</c>): the queue keeps them, marked redelivered.
    /// </summary>
    public async Task<IReadOnlyList<ManagementMessage>> GetMessagesAsync(string queue, int count = 1, CancellationToken cancellationToken = default)
    {
        var request = new { count, ackmode = "ack_requeue_true", encoding = "auto", truncate = 1_000_000 };
        using var response = await _management.PostAsJsonAsync($"{QueuePath(queue)}/get", request, cancellationToken);
        await EnsureSuccessAsync(response, $"get messages from queue {queue}", cancellationToken);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return [.. json.RootElement.EnumerateArray().Select(ManagementMessage.From)];
    }

    public async ValueTask DisposeAsync()
    {
        using var response = await _management.DeleteAsync($"api/vhosts/{_escapedName}");
        if (response.StatusCode != HttpStatusCode.NotFound)
        {
            await EnsureSuccessAsync(response, $"delete virtual host {Name}", CancellationToken.None);
        }
    }

    private string QueuePath(string queue) => $"api/queues/{_escapedName}/{Uri.EscapeDataString(queue)}";

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new InvalidOperationException(
                $"RabbitMQ management API could not {what}: {(int)response.StatusCode} {response.ReasonPhrase} {body}");
        }
    }
}

/// <summary>A message as the management API's <c>/get</c> returns it.</summary>
/// <param name="Payload">The body: text when it is UTF-8, else base64 (see <paramref name="PayloadEncoding"/>).</param>
/// <param name="PayloadEncoding"><c>string</c> or <c>base64</c>.</param>
/// <param name="Properties">The AMQP properties (content_type, message_id, headers, …) as the API spells them.</param>
/// <param name="MessageCount">Messages left in the queue after this one.</param>
public sealed record ManagementMessage(
    string Payload,
    string PayloadEncoding,
    string Exchange,
    string RoutingKey,
    bool Redelivered,
    long MessageCount,
    JsonElement Properties)
{
    /// <summary>The body's bytes, whatever the encoding.</summary>
    public byte[] Body => PayloadEncoding == "base64" ? Convert.FromBase64String(Payload) : System.Text.Encoding.UTF8.GetBytes(Payload);

    internal static ManagementMessage From(JsonElement message) => new(
        message.GetProperty("payload").GetString() ?? string.Empty,
        message.GetProperty("payload_encoding").GetString() ?? "string",
        message.GetProperty("exchange").GetString() ?? string.Empty,
        message.GetProperty("routing_key").GetString() ?? string.Empty,
        message.GetProperty("redelivered").GetBoolean(),
        message.GetProperty("message_count").GetInt64(),
        message.GetProperty("properties").Clone());
}
