using RabbitMQ.Client;

namespace Provisioning.Worker.Configuration;

/// <summary>Reads the parts of <c>RabbitMq:Uri</c> (<c>amqp://user:pass@host:5672/vhost</c>) the way AMQP URIs define them.</summary>
public static class RabbitMqUri
{
    public static bool IsTls(Uri uri) => uri.Scheme is "amqps" or "rabbitmqs";

    public static ushort Port(Uri uri) => (ushort)(uri.IsDefaultPort || uri.Port <= 0 ? (IsTls(uri) ? 5671 : 5672) : uri.Port);

    /// <summary>The path is the vhost, percent-encoded; an empty path is the default vhost "/".</summary>
    public static string VirtualHost(Uri uri)
    {
        var path = uri.AbsolutePath.TrimStart('/');
        return path.Length == 0 ? "/" : Uri.UnescapeDataString(path);
    }

    public static (string Username, string Password) Credentials(Uri uri)
    {
        if (string.IsNullOrEmpty(uri.UserInfo))
        {
            return ("guest", "guest");
        }

        var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
        return colon < 0
            ? (Uri.UnescapeDataString(uri.UserInfo), string.Empty)
            : (Uri.UnescapeDataString(uri.UserInfo[..colon]), Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]));
    }

    /// <summary>
    /// The one way the worker's own RabbitMQ.Client connections are built (the operator tools, the dead-letter gauge;
    /// the bus is MassTransit's, from the same URI): from the URI's parts, so every scheme <c>RabbitMq:Uri</c> accepts
    /// works. No automatic recovery: a caller that loses its connection reports it and connects again itself.
    /// </summary>
    public static ConnectionFactory ConnectionFactory(Uri uri, string clientName, TimeSpan connectTimeout)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var (username, password) = Credentials(uri);
        var factory = new ConnectionFactory
        {
            HostName = uri.Host,
            Port = Port(uri),
            VirtualHost = VirtualHost(uri),
            UserName = username,
            Password = password,
            ClientProvidedName = clientName,
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            RequestedConnectionTimeout = connectTimeout,
        };
        if (IsTls(uri))
        {
            factory.Ssl = new SslOption { Enabled = true, ServerName = uri.Host };
        }

        return factory;
    }
}
