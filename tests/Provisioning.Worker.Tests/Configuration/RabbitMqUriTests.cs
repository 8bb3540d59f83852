using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Tests.Configuration;

public class RabbitMqUriTests
{
    [Theory]
    [InlineData("amqp://u:p@host:5673/tenant-a", "tenant-a", 5673, "u", "p")]
    [InlineData("amqp://host", "/", 5672, "guest", "guest")]
    [InlineData("amqp://u%40x:p%3Aw@host/%2F", "/", 5672, "u@x", "p:w")]
    [InlineData("amqps://u:p@host/v", "v", 5671, "u", "p")]
    public void The_uri_parts_are_read_as_amqp_uris_define_them(string uri, string vhost, int port, string user, string password)
    {
        var parsed = new Uri(uri);

        Assert.Equal(vhost, RabbitMqUri.VirtualHost(parsed));
        Assert.Equal(port, RabbitMqUri.Port(parsed));
        Assert.Equal((user, password), RabbitMqUri.Credentials(parsed));
    }

    [Theory]
    [InlineData("rabbitmq://u%40x:p%3Aw@host:5673/tenant-a", false)]
    [InlineData("amqps://u%40x:p%3Aw@host:5673/tenant-a", true)]
    public void The_one_connection_factory_takes_every_scheme_and_never_recovers_on_its_own(string uri, bool tls)
    {
        var factory = RabbitMqUri.ConnectionFactory(new Uri(uri), "a tool", TimeSpan.FromSeconds(7));

        Assert.Equal(("host", 5673, "tenant-a", "u@x", "p:w"), (factory.HostName, factory.Port, factory.VirtualHost, factory.UserName, factory.Password));
        Assert.Equal(tls, factory.Ssl.Enabled);
        Assert.Equal("a tool", factory.ClientProvidedName);
        Assert.Equal(TimeSpan.FromSeconds(7), factory.RequestedConnectionTimeout);
        Assert.False(factory.AutomaticRecoveryEnabled);
        Assert.False(factory.TopologyRecoveryEnabled);
    }
}
