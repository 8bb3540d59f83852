using Provisioning.Worker.Cli;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Provisioning.Worker.DeadLetters;

/// <summary>Passive queue declares, each on a channel of its own: a missing queue closes the channel it is asked on.</summary>
public static class QueueProbe
{
    private const ushort NotFound = 404;
    private const ushort AccessRefused = 403;

    /// <summary>The queue's ready messages, or null when it does not exist.</summary>
    public static async Task<uint?> MessageCountAsync(IConnection connection, string queue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            var declared = await channel.QueueDeclarePassiveAsync(queue, cancellationToken);
            await channel.CloseAsync(cancellationToken);
            return declared.MessageCount;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
        {
            return null;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == AccessRefused)
        {
            throw new DeadLetterToolException(CommandExitCodes.BadInput, $"the user of {BrokerConnector.UriKey} may not read queue '{queue}': {e.ShutdownReason.ReplyText}", e);
        }
    }
}
