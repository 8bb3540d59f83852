using MassTransit;
using Provisioning.Contracts;

namespace Provisioning.Worker.Benchmarks;

/// <summary>The upstream side: a MassTransit bus that publishes registrations and collects replies on its own queue.</summary>
public static class BenchBus
{
    public const string ReplyQueue = "bench-replies";

    public static Uri ReplyAddress { get; } = new($"queue:{ReplyQueue}");

    /// <summary>
    /// A bus on <paramref name="virtualHost"/> with the reply queue; with <paramref name="ceiling"/>, also the
    /// trivial consumer of the transport ceiling on the worker's queue name: it only replies, with the same
    /// prefetch and concurrency as the worker's consumer.
    /// </summary>
    public static async Task<IBusControl> StartAsync(Uri virtualHost, ReplyTracker tracker, (int Prefetch, int Concurrency)? ceiling, CancellationToken cancellationToken)
    {
        var credentials = Uri.UnescapeDataString(virtualHost.UserInfo).Split(':', 2);
        var bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(virtualHost.Host, (ushort)virtualHost.Port, Uri.UnescapeDataString(virtualHost.AbsolutePath.TrimStart('/')), host =>
            {
                host.Username(credentials[0]);
                host.Password(credentials[1]);
                host.PublisherConfirmation = true;
            });
            rabbit.ReceiveEndpoint(ReplyQueue, endpoint =>
            {
                endpoint.PrefetchCount = 1_000;
                endpoint.ConcurrentMessageLimit = 200;
                tracker.Configure(endpoint);
            });
            if (ceiling is { } limits)
            {
                rabbit.ReceiveEndpoint("device-registered", endpoint =>
                {
                    endpoint.PrefetchCount = limits.Prefetch;
                    endpoint.ConcurrentMessageLimit = limits.Concurrency;
                    endpoint.Handler<DeviceRegistered>(context => context.RespondAsync(new CredentialsIssued
                    {
                        TenantId = context.Message.TenantId ?? string.Empty,
                        DeviceId = context.Message.DeviceId ?? string.Empty,
                        Username = $"{context.Message.TenantId}.{context.Message.DeviceId}",
                        Password = "ceiling",
                        BrokerHost = "127.0.0.1",
                        BrokerPort = 1883,
                        IssuedAt = DateTimeOffset.UtcNow,
                    }));
                });
            }
        });
        await bus.StartAsync(cancellationToken);
        return bus;
    }
}
