using Provisioning.Worker.Cli;
using Provisioning.Worker.Configuration;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Provisioning.Worker.DeadLetters;

/// <summary>Connects to the broker the worker uses (<c>RabbitMq:Uri</c>), failing fast with a reason instead of retrying.</summary>
public static class BrokerConnector
{
    private const ushort NotAllowed = 530;

    public const string UriKey = $"{RabbitMqOptions.SectionName}:{nameof(RabbitMqOptions.Uri)}";

    /// <summary>The broker's address as shown to the operator: no credentials.</summary>
    public static string Describe(Uri uri) => $"{uri.Host}:{RabbitMqUri.Port(uri)} vhost '{RabbitMqUri.VirtualHost(uri)}'";

    public static async Task<IConnection> ConnectAsync(Uri uri, string clientName, CancellationToken cancellationToken)
    {
        // A tool run by hand: report the outage rather than wait it out, and never resume on a new connection whose
        // channel would not hold the messages this one read (the factory does not recover).
        var factory = RabbitMqUri.ConnectionFactory(uri, clientName, TimeSpan.FromSeconds(10));
        try
        {
            return await factory.CreateConnectionAsync(cancellationToken);
        }
        catch (BrokerUnreachableException e)
        {
            throw new DeadLetterToolException(CommandExitCodes.Unavailable, $"cannot connect to RabbitMQ at {Describe(uri)}: {Reason(e)}", e);
        }
        catch (OperationInterruptedException e) when (IsVirtualHostRefused(e))
        {
            throw VirtualHostRefused(uri, e);
        }
    }

    /// <summary>
    /// The broker answers an unknown (or forbidden) virtual host by closing the connection it just opened; the
    /// client may report it from the connect or from the first operation after it.
    /// </summary>
    public static bool IsVirtualHostRefused(OperationInterruptedException e) => e?.ShutdownReason?.ReplyCode == NotAllowed;

    public static DeadLetterToolException VirtualHostRefused(Uri uri, OperationInterruptedException e) => new(
        CommandExitCodes.Unavailable,
        $"RabbitMQ at {Describe(uri)} refused the virtual host: it does not exist or the user of {UriKey} may not use it ({e?.ShutdownReason?.ReplyText}).",
        e);

    private static string Reason(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case AuthenticationFailureException or PossibleAuthenticationFailureException:
                    return $"the broker refused the user and password of {UriKey}.";
                case OperationInterruptedException { ShutdownReason.ReplyCode: NotAllowed }:
                    return $"the user of {UriKey} may not use this virtual host, or it does not exist.";
                case System.Net.Sockets.SocketException socket:
                    return $"{socket.Message} (is RabbitMQ running?)";
            }
        }

        return e.InnerException?.Message ?? e.Message;
    }
}
