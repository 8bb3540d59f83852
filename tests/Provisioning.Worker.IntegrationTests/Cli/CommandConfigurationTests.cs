using Provisioning.Worker.IntegrationTests.DeadLetters;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Cli;

/// <summary>The operator commands take what the worker's validators take: no more (PasswdCommandProcessTests), and no less.</summary>
[Collection(ServicesCollection.Name)]
public sealed class CommandConfigurationTests(ServiceEndpoints endpoints)
{
    [Fact]
    public async Task Dead_letters_accepts_the_rabbitmq_scheme_the_worker_accepts()
    {
        // Given: the same broker address written with MassTransit's scheme, which the worker's validator allows
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, TestQueues.Error);
        var uri = new UriBuilder(vhost.AmqpUri) { Scheme = "rabbitmq", Port = vhost.AmqpUri.Port }.Uri;

        // When
        var result = await WorkerProcess.RunToExitAsync(["dead-letters", "list", "--queue", TestQueues.Error], new Dictionary<string, string?> { ["RabbitMq__Uri"] = uri.ToString() });

        // Then
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("0 messages", result.Stdout, StringComparison.Ordinal);
    }
}
