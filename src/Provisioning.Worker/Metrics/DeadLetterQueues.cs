using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Provisioning.Worker.Metrics;

/// <summary>
/// Depths of the queues MassTransit dead-letters to beside the worker's queues, read with passive declares (no
/// management API needed). A queue MassTransit has not created yet (it does so at the first fault) counts as empty.
/// </summary>
public sealed class DeadLetterQueues(IOptions<RabbitMqOptions> options) : IAsyncDisposable
{
    public static readonly IReadOnlyList<string> Names =
    [
        $"{DeviceLifecycleService.RegisteredConsumer}_error",
        $"{DeviceLifecycleService.RegisteredConsumer}_skipped",
        $"{DeviceLifecycleService.DeletedConsumer}_error",
        $"{DeviceLifecycleService.DeletedConsumer}_skipped",
    ];

    private const ushort NotFound = 404;
    private IConnection? _connection;

    public async Task<IReadOnlyDictionary<string, long>> ReadDepthsAsync(CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken);
        var depths = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var queue in Names)
        {
            // A 404 closes the channel: one channel per queue.
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            try
            {
                depths[queue] = (await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount;
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
            {
                depths[queue] = 0;
            }
        }

        return depths;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }

    private async Task<IConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsOpen: true } open)
        {
            return open;
        }

        await DisposeAsync();
        var uri = new Uri(options.Value.Uri);
        var (username, password) = RabbitMqUri.Credentials(uri);
        var factory = new ConnectionFactory
        {
            HostName = uri.Host,
            Port = RabbitMqUri.Port(uri),
            VirtualHost = RabbitMqUri.VirtualHost(uri),
            UserName = username,
            Password = password,
            ClientProvidedName = "provisioning-worker-metrics",
            AutomaticRecoveryEnabled = false,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        };
        if (RabbitMqUri.IsTls(uri))
        {
            factory.Ssl = new SslOption { Enabled = true, ServerName = uri.Host };
        }

        _connection = await factory.CreateConnectionAsync(cancellationToken);
        return _connection;
    }
}
