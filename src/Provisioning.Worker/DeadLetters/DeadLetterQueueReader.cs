using Provisioning.Worker.Cli;
using Provisioning.Worker.Shared;
using RabbitMQ.Client;

namespace Provisioning.Worker.DeadLetters;

/// <summary>
/// Reads a dead-letter queue from its head with <c>basic.get</c> and no acknowledgement, on a channel of its own.
/// A message read is held by this channel until it is acknowledged (<see cref="AckAsync"/>: gone for good); every
/// message still held when the channel closes — normally, or because this process died — goes back to the queue
/// at its original place (classic queues), marked redelivered. Nothing else is ever done to a message: reading
/// is lossless, and a read that is not acknowledged leaves the queue as it was.
/// </summary>
public sealed class DeadLetterQueueReader : IAsyncDisposable
{
    private readonly IChannel _channel;
    private int _read;

    private DeadLetterQueueReader(IChannel channel, string queue, uint messageCount)
    {
        _channel = channel;
        Queue = queue;
        MessageCount = messageCount;
    }

    public string Queue { get; }

    /// <summary>The ready messages when the reader opened: what it reads at most, so messages dead-lettered meanwhile cannot keep it going.</summary>
    public uint MessageCount { get; }

    /// <summary>The reader's channel, with publisher confirms: a replay publishes on it.</summary>
    public IChannel Channel => _channel;

    /// <exception cref="DeadLetterToolException">Not a dead-letter queue's name, or no such queue.</exception>
    public static async Task<DeadLetterQueueReader> OpenAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(queue);
        DeadLetterQueues.Require(queue);
        var count = await QueueProbe.MessageCountAsync(connection, queue, cancellationToken)
            ?? throw new DeadLetterToolException(
                CommandExitCodes.BadInput,
                $"queue '{SafeText.Unicode(queue)}' does not exist in this virtual host (MassTransit declares it when it first dead-letters a message: nothing has failed there yet).");
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            cancellationToken);
        return new DeadLetterQueueReader(channel, queue, count);
    }

    /// <summary>The next message, held unacknowledged; null once <see cref="MessageCount"/> were read or the queue is empty.</summary>
    public async Task<DeadLetter?> NextAsync(CancellationToken cancellationToken)
    {
        if (_read >= MessageCount)
        {
            return null;
        }

        var result = await _channel.BasicGetAsync(Queue, autoAck: false, cancellationToken);
        if (result is null)
        {
            return null;
        }

        _read++;
        return DeadLetter.From(result, _read, Queue);
    }

    /// <summary>
    /// Removes the message from the queue. Not cancellable: once its re-publish is confirmed, acknowledging it is
    /// what keeps the replay from leaving a duplicate behind.
    /// </summary>
    public async Task AckAsync(DeadLetter letter)
    {
        ArgumentNullException.ThrowIfNull(letter);
        await _channel.BasicAckAsync(letter.DeliveryTag, multiple: false, CancellationToken.None);
    }

    /// <summary>Closes the channel: every message read and not acknowledged returns to the queue.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_channel.IsOpen)
        {
            await _channel.CloseAsync();
        }

        await _channel.DisposeAsync();
    }
}
