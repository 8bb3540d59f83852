using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.DeadLetters;
using Provisioning.Worker.Devices;
using RabbitMQ.Client;

namespace Provisioning.Worker.Metrics;

/// <summary>
/// Depths of the queues MassTransit dead-letters to beside the worker's queues, read with passive declares (no
/// management API needed). A queue MassTransit has not created yet (it does so at the first fault) counts as empty.
/// </summary>
public sealed class DeadLetterQueueDepths(IOptions<RabbitMqOptions> options) : IAsyncDisposable
{
    public static readonly IReadOnlyList<string> Names =
    [
        DeviceQueues.Registered + DeadLetterQueues.ErrorSuffix,
        DeviceQueues.Registered + DeadLetterQueues.SkippedSuffix,
        DeviceQueues.Deleted + DeadLetterQueues.ErrorSuffix,
        DeviceQueues.Deleted + DeadLetterQueues.SkippedSuffix,
    ];

    private IConnection? _connection;

    public async Task<IReadOnlyDictionary<string, long>> ReadDepthsAsync(CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken);
        var depths = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var queue in Names)
        {
            depths[queue] = await QueueProbe.MessageCountAsync(connection, queue, cancellationToken) ?? 0;
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
        _connection = await RabbitMqUri.ConnectionFactory(uri, "provisioning-worker-metrics", TimeSpan.FromSeconds(5)).CreateConnectionAsync(cancellationToken);
        return _connection;
    }
}
