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
}
