using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Provisioning.Worker.Metrics;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Persistence;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.IntegrationTests.Outbox;

/// <summary>The dispatcher in process, on a real PostgreSQL, with a sender standing in for RabbitMQ.</summary>
[Collection(ServicesCollection.Name)]
public sealed class OutboxDispatcherTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _lease = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_send_that_is_never_confirmed_is_abandoned_when_its_lease_runs_out_and_the_reply_still_goes_out()
    {
        // Given: replies for two devices ready, and a broker that never confirms the first send it gets
        await using var database = await TestDatabase.CreateAsync(endpoints);
        var sender = new SenderLosingFirstConfirm();
        await using var provider = Services(database.ConnectionString, sender);
        await provider.GetRequiredService<ProvisioningDbContext>().Database.MigrateAsync();
        var replies = new[] { await InsertReadyReplyAsync(database.ConnectionString, "d0001"), await InsertReadyReplyAsync(database.ConnectionString, "d0002") };
        var dispatcher = provider.GetRequiredService<OutboxDispatcher>();

        // When
        await dispatcher.StartAsync(CancellationToken.None);
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (await CountAsync(database.ConnectionString, "SELECT count(*) FROM outbox") > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the outbox was not emptied within 30 s; sends so far: {string.Join(", ", sender.Attempts)}");
                await Task.Delay(100);
            }
        }
        finally
        {
            // A send still hanging is abandoned once this runs out.
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await dispatcher.StopAsync(stop.Token);
        }

        // Then: the hung send was given up when the lease ran out, not before, and sent again; the other device's
        // reply did not wait for it
        var stuck = sender.Attempts[0];
        var other = replies.Single(id => id != stuck);
        Assert.Equal(replies.Order(), sender.Delivered.Select(d => d.MessageId).Order());
        Assert.Equal(2, sender.Attempts.Count(id => id == stuck));
        Assert.True(sender.AbandonedAfter >= _lease - TimeSpan.FromMilliseconds(50), $"abandoned after {sender.AbandonedAfter}, before the lease ({_lease}) ran out");
        Assert.True(sender.Delivered.Single(d => d.MessageId == other).After < _lease, "the other device's reply waited for the hung one");
    }

    private static ServiceProvider Services(string connectionString, IReplySender sender)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddDbContext<ProvisioningDbContext>(options => options.UseNpgsql(connectionString));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ProjectionStatus>();
        services.AddSingleton<ProvisioningMetrics>();
        services.AddSingleton<DispatchWakeUp>();
        services.AddSingleton(sender);
        services.Configure<ProvisioningOptions>(options =>
        {
            options.OutboxLease = _lease;
            options.PollInterval = TimeSpan.FromMilliseconds(100);
            options.MaxBackoff = TimeSpan.FromMilliseconds(200);
        });
        services.AddSingleton<OutboxDispatcher>();
        return services.BuildServiceProvider();
    }

    private static async Task<Guid> InsertReadyReplyAsync(string connectionString, string deviceId)
    {
        var messageId = Guid.NewGuid();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO outbox (message_id, message_type, body, tenant_id, device_id, awaits_broker, created_at, attempts, next_attempt_at)
            VALUES (@id, 'CredentialsRevoked', '{}', 'acme', @device, false, now(), 0, now())
            """,
            connection);
        command.Parameters.AddWithValue("id", messageId);
        command.Parameters.AddWithValue("device", deviceId);
        await command.ExecuteNonQueryAsync();
        return messageId;
    }

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// Confirms every send at once except the very first, which it never confirms and which ignores its cancellation
    /// token: the publish that waits forever for a confirmation lost in a broker restart.
    /// </summary>
    private sealed class SenderLosingFirstConfirm : IReplySender
    {
        private readonly Lock _lock = new();
        private readonly List<Guid> _attempts = [];
        private readonly List<(Guid MessageId, TimeSpan After)> _delivered = [];
        private readonly System.Diagnostics.Stopwatch _sinceFirstAttempt = new();

        public IReadOnlyList<Guid> Attempts
        {
            get
            {
                lock (_lock)
                {
                    return [.. _attempts];
                }
            }
        }

        /// <summary>Confirmed sends, with the time since the first attempt.</summary>
        public IReadOnlyList<(Guid MessageId, TimeSpan After)> Delivered
        {
            get
            {
                lock (_lock)
                {
                    return [.. _delivered];
                }
            }
        }

        public TimeSpan AbandonedAfter { get; private set; }

        public Task SendAsync(OutboxMessage row, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                _attempts.Add(row.MessageId);
                if (_attempts.Count == 1)
                {
                    _sinceFirstAttempt.Start();
                    cancellationToken.Register(() => AbandonedAfter = _sinceFirstAttempt.Elapsed);
                    return new TaskCompletionSource().Task;
                }

                _delivered.Add((row.MessageId, _sinceFirstAttempt.Elapsed));
                return Task.CompletedTask;
            }
        }
    }
}
