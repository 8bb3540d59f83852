using Provisioning.Worker.Cli;
using Provisioning.Worker.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Provisioning.Worker.DeadLetters;

/// <summary>
/// Moves a dead letter back to the queue it failed on: re-published through the default exchange (routing key =
/// queue name, mandatory) and acknowledged in the dead-letter queue only once the broker confirmed the copy. If
/// anything stops it in between, the message is in both queues, never in neither; the worker's inbox absorbs the
/// duplicate because the message id and body are the original's.
/// </summary>
public sealed class DeadLetterReplayer(IConnection connection, DeadLetterQueueReader reader, string connectionUser, TimeProvider clock)
{
    /// <summary>A confirmation can be lost for good in a broker restart; the operator gets an answer rather than a hang.</summary>
    public static readonly TimeSpan ConfirmationTimeout = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, bool> _targets = new(StringComparer.Ordinal);

    /// <exception cref="DeadLetterToolException">The target queue does not exist, or the broker did not take the copy; the message stays where it was.</exception>
    public async Task ReplayAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        await EnsureTargetExistsAsync(letter, cancellationToken);
        using var timeout = new CancellationTokenSource(ConfirmationTimeout, clock);
        using var confirmation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await reader.Channel.BasicPublishAsync(string.Empty, letter.TargetQueue, mandatory: true, ReplayProperties.For(letter, connectionUser), letter.Body, confirmation.Token)
                .AsTask().WaitAsync(confirmation.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DeadLetterToolException(CommandExitCodes.Unavailable, $"the broker did not confirm the copy of message {DeadLetterFormat.Id(letter)} within {ConfirmationTimeout.TotalSeconds:0} s; it stays in {reader.Queue} (the copy may have arrived too: the inbox absorbs it).", e);
        }
        catch (PublishException e) when (e.IsReturn)
        {
            throw new DeadLetterToolException(CommandExitCodes.BadInput, $"the broker could not route message {DeadLetterFormat.Id(letter)} to queue '{SafeText.Unicode(letter.TargetQueue)}' (does it still exist?); it stays in {reader.Queue}.", e);
        }
        catch (PublishException e)
        {
            throw new DeadLetterToolException(CommandExitCodes.Unavailable, $"the broker did not accept the copy of message {DeadLetterFormat.Id(letter)}; it stays in {reader.Queue}.", e);
        }

        await reader.AckAsync(letter);
    }

    /// <summary>Checks, once per target, that the queue exists: the default exchange would otherwise have nowhere to put the copy.</summary>
    public async Task EnsureTargetExistsAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        if (!_targets.TryGetValue(letter.TargetQueue, out var exists))
        {
            exists = await QueueProbe.MessageCountAsync(connection, letter.TargetQueue, cancellationToken) is not null;
            _targets[letter.TargetQueue] = exists;
        }

        if (!exists)
        {
            throw new DeadLetterToolException(
                CommandExitCodes.BadInput,
                $"message {DeadLetterFormat.Id(letter)} failed on queue '{SafeText.Unicode(letter.TargetQueue)}', which does not exist (any more); it stays in {reader.Queue}. Start the worker (it declares its queues) and replay again.");
        }
    }
}
