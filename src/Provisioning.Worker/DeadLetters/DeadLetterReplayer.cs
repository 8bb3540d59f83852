using Provisioning.Worker.Cli;
using Provisioning.Worker.Shared;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Provisioning.Worker.DeadLetters;

/// <summary>
/// Moves a dead letter back to the queue it failed on: re-published through the default exchange (routing key =
/// queue name, mandatory) and acknowledged in the dead-letter queue only once the broker confirmed the copy. If
/// anything stops it in between, the message is in both queues, never in neither; the worker's inbox absorbs the
/// duplicate because the message id and body are the original's.
/// </summary>
/// <remarks>
/// A broker under a memory or disk alarm blocks every connection that publishes (<c>connection.blocked</c>): it stops
/// reading from it, so the copy is never confirmed and nothing on that connection is answered any more. The replay stops
/// as soon as the broker says so (<see cref="CommandExitCodes.BrokerBlocked"/>) rather than at the confirmation
/// timeout (found by the memory-alarm fault scenario, tests/…/Faults/RabbitMqHangFaultTests.cs).
/// </remarks>
public sealed class DeadLetterReplayer
{
    /// <summary>A confirmation can be lost for good in a broker restart; the operator gets an answer rather than a hang.</summary>
    public static readonly TimeSpan ConfirmationTimeout = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, bool> _targets = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<string> _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IConnection _connection;
    private readonly DeadLetterQueueReader _reader;
    private readonly string _connectionUser;
    private readonly string _broker;
    private readonly TimeProvider _clock;

    /// <param name="broker">The broker as the operator knows it (<see cref="BrokerConnector.Describe"/>), for the messages.</param>
    public DeadLetterReplayer(IConnection connection, DeadLetterQueueReader reader, string connectionUser, string broker, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _reader = reader;
        _connectionUser = connectionUser;
        _broker = broker;
        _clock = clock;
        connection.ConnectionBlockedAsync += (_, e) =>
        {
            _blocked.TrySetResult(e.Reason);
            return Task.CompletedTask;
        };
    }

    /// <exception cref="DeadLetterToolException">The target queue does not exist, or the broker did not take the copy; the message stays where it was.</exception>
    public async Task ReplayAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        await EnsureTargetExistsAsync(letter, cancellationToken);
        using var confirmation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var publish = _reader.Channel.BasicPublishAsync(string.Empty, letter.TargetQueue, mandatory: true, ReplayProperties.For(letter, _connectionUser), letter.Body, confirmation.Token).AsTask();
        try
        {
            var first = await Task.WhenAny(publish, _blocked.Task).WaitAsync(ConfirmationTimeout, _clock, cancellationToken);
            if (first != publish)
            {
                confirmation.Cancel();
                var reason = await _blocked.Task;
                throw new DeadLetterToolException(CommandExitCodes.BrokerBlocked, $"RabbitMQ at {_broker} blocks publishers ({SafeText.Unicode(reason, 200)}: a memory or disk alarm); the copy of message {DeadLetterFormat.Id(letter)} was not confirmed and it stays in {_reader.Queue} (the copy may still arrive when the alarm clears: the inbox absorbs it). Replay again once the alarm clears (rabbitmq-diagnostics alarms).");
            }

            await publish;
        }
        catch (TimeoutException e)
        {
            confirmation.Cancel();
            throw new DeadLetterToolException(CommandExitCodes.Unavailable, $"the broker did not confirm the copy of message {DeadLetterFormat.Id(letter)} within {ConfirmationTimeout.TotalSeconds:0} s; it stays in {_reader.Queue} (the copy may have arrived too: the inbox absorbs it).", e);
        }
        catch (PublishException e) when (e.IsReturn)
        {
            throw new DeadLetterToolException(CommandExitCodes.BadInput, $"the broker could not route message {DeadLetterFormat.Id(letter)} to queue '{SafeText.Unicode(letter.TargetQueue)}' (does it still exist?); it stays in {_reader.Queue}.", e);
        }
        catch (PublishException e)
        {
            throw new DeadLetterToolException(CommandExitCodes.Unavailable, $"the broker did not accept the copy of message {DeadLetterFormat.Id(letter)}; it stays in {_reader.Queue}.", e);
        }

        await _reader.AckAsync(letter);
    }

    /// <summary>Checks, once per target, that the queue exists: the default exchange would otherwise have nowhere to put the copy.</summary>
    public async Task EnsureTargetExistsAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        if (!_targets.TryGetValue(letter.TargetQueue, out var exists))
        {
            exists = await QueueProbe.MessageCountAsync(_connection, letter.TargetQueue, cancellationToken) is not null;
            _targets[letter.TargetQueue] = exists;
        }

        if (!exists)
        {
            throw new DeadLetterToolException(
                CommandExitCodes.BadInput,
                $"message {DeadLetterFormat.Id(letter)} failed on queue '{SafeText.Unicode(letter.TargetQueue)}', which does not exist (any more); it stays in {_reader.Queue}. Start the worker (it declares its queues) and replay again.");
        }
    }
}
