using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Provisioning.Worker.Metrics;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Persistence;
using Provisioning.Worker.Projection;
using Provisioning.Worker.Secrets;

namespace Provisioning.Worker.IntegrationTests.Outbox;

/// <summary>The dispatcher in process, on a real PostgreSQL, with a sender standing in for RabbitMQ.</summary>
[Collection(ServicesCollection.Name)]
public sealed class OutboxDispatcherTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _lease = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_send_that_is_never_confirmed_is_abandoned_when_its_lease_runs_out_and_the_reply_still_goes_out()
    {
        // Given: replies for two devices ready, a broker that never confirms the first send it gets, and the
        // dispatcher's clock in the test's hand (it times the send; the lease's and the retry's times are the database's)
        await using var database = await TestDatabase.CreateAsync(endpoints);
        var sender = new SenderLosingFirstConfirm();
        var clock = new FakeTimeProvider();
        await using var provider = Services(database.ConnectionString, sender, clock);
        await provider.GetRequiredService<ProvisioningDbContext>().Database.MigrateAsync();
        var replies = new[] { await InsertReadyReplyAsync(database.ConnectionString, "d0001"), await InsertReadyReplyAsync(database.ConnectionString, "d0002") };
        var dispatcher = provider.GetRequiredService<OutboxDispatcher>();

        // When: both are sent, then the clock moves to just before the lease's end, then to its end
        await dispatcher.StartAsync(CancellationToken.None);
        try
        {
            await UntilAsync(() => sender.Attempts.Count >= 2 && sender.Delivered.Count >= 1, "both replies were not sent", sender);
            var stuck = sender.Attempts[0];
            var other = replies.Single(id => id != stuck);

            // Then: the other device's reply did not wait for the hung one; the hung send is given up exactly when
            // the lease runs out, and sent again
            Assert.Equal(other, Assert.Single(sender.Delivered));
            clock.Advance(_lease - TimeSpan.FromMilliseconds(1));
            Assert.False(sender.Abandoned, "the send was abandoned before its lease ran out");
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(sender.Abandoned, "the send was not abandoned when its lease ran out");

            // the retry is due after the redelivery backoff (capped at MaxBackoff), by the database's clock; the fake
            // clock ends the dispatcher's waits between rounds
            await UntilAsync(
                async () =>
                {
                    clock.Advance(TimeSpan.FromMilliseconds(100));
                    return await CountAsync(database.ConnectionString, "SELECT count(*) FROM outbox") == 0;
                },
                "the outbox was not emptied",
                sender);
            Assert.Equal(replies.Order(), sender.Delivered.Order());
            Assert.Equal(2, sender.Attempts.Count(id => id == stuck));
        }
        finally
        {
            // A send still hanging is abandoned once this runs out.
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await dispatcher.StopAsync(stop.Token);
        }
    }

    /// <summary>
    /// Two instances on one database, one of them with its wall clock stepped an hour ahead (NTP correcting a large
    /// offset, a restored VM). Lease times used to come from each instance's clock, so the stepped one saw every live
    /// lease of the other as long expired, took the rows and sent their replies a second time.
    /// </summary>
    [Fact]
    public async Task An_instance_whose_wall_clock_was_stepped_forward_leaves_the_live_lease_of_another_alone()
    {
        // Given: instance A holds the lease of a reply whose send hangs (a minute's lease), and instance B, whose wall
        // clock is an hour ahead, runs beside it
        await using var database = await TestDatabase.CreateAsync(endpoints);
        var hanging = new SenderLosingFirstConfirm();
        var recording = new RecordingSender();
        await using var first = Services(database.ConnectionString, hanging, TimeProvider.System, TimeSpan.FromMinutes(1));
        await using var second = Services(database.ConnectionString, recording, new WallClockAhead(TimeSpan.FromHours(1)), TimeSpan.FromMinutes(1));
        await first.GetRequiredService<ProvisioningDbContext>().Database.MigrateAsync();
        var held = await InsertReadyReplyAsync(database.ConnectionString, "d0001");
        var instanceA = first.GetRequiredService<OutboxDispatcher>();
        var instanceB = second.GetRequiredService<OutboxDispatcher>();
        await instanceA.StartAsync(CancellationToken.None);
        try
        {
            await UntilAsync(() => hanging.Attempts.Count == 1, "instance A did not claim the reply", hanging);

            // When: B starts and a reply to another device arrives, which only B can take (A waits on its hung send)
            await instanceB.StartAsync(CancellationToken.None);
            var next = await InsertReadyReplyAsync(database.ConnectionString, "d0002");
            await Eventually.TrueAsync(
                () => recording.Sent.Any(row => row.MessageId == next),
                TimeSpan.FromSeconds(30),
                "instance B did not deliver the reply to the other device",
                () => $"B sent: {string.Join(", ", recording.Sent.Select(row => row.DeviceId))}");

            // Then: B claimed while A's lease was live and left that row alone; A still holds it
            Assert.DoesNotContain(recording.Sent, row => row.MessageId == held);
            Assert.Equal(1, await CountAsync(database.ConnectionString, "SELECT count(*) FROM outbox WHERE lease_expires_at > now()"));
            Assert.Equal([held], hanging.Attempts);
        }
        finally
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await instanceB.StopAsync(stop.Token);
            await instanceA.StopAsync(stop.Token);
        }
    }

    /// <summary>Polls (real time, 30 s at most) until <paramref name="done"/>; the fake clock only drives the dispatcher.</summary>
    private static Task UntilAsync(Func<bool> done, string failure, SenderLosingFirstConfirm sender) =>
        UntilAsync(() => Task.FromResult(done()), failure, sender);

    private static Task UntilAsync(Func<Task<bool>> done, string failure, SenderLosingFirstConfirm sender) =>
        Eventually.TrueAsync(done, TimeSpan.FromSeconds(30), failure, () => $"sends so far: {string.Join(", ", sender.Attempts)}", TimeSpan.FromMilliseconds(50));

    /// <summary>
    /// The fault suite's stall: autovacuum had analysed the outbox while it was empty, PostgreSQL then believed it held
    /// one row and planned the claim as nested loops that re-ran the locking subquery for every outbox row; with a few
    /// thousand replies waiting, each claim outlasted the command timeout and no reply went out again. The statistics
    /// are put in that state here, and the join methods that would have hidden it are switched off for the database, so
    /// the planner makes the same choice on every run.
    /// </summary>
    [Fact]
    public async Task Replies_go_out_in_device_order_even_when_the_statistics_say_the_outbox_is_empty()
    {
        // Given: statistics taken while the outbox was empty, then a backlog of 3000 replies for 80 devices
        await using var database = await TestDatabase.CreateAsync(endpoints);
        var sender = new RecordingSender();
        await using var provider = Services(database.ConnectionString, sender, TimeProvider.System);
        await provider.GetRequiredService<ProvisioningDbContext>().Database.MigrateAsync();
        await ExecuteAsync(
            database.ConnectionString,
            $"""
            ALTER DATABASE "{database.Name}" SET enable_hashjoin = off;
            ALTER DATABASE "{database.Name}" SET enable_mergejoin = off;
            ALTER DATABASE "{database.Name}" SET enable_material = off;
            ALTER DATABASE "{database.Name}" SET enable_hashagg = off;
            ALTER DATABASE "{database.Name}" SET enable_sort = off;
            {InsertReadyRepliesSql(150)}
            DELETE FROM outbox;
            ANALYZE outbox;
            {InsertReadyRepliesSql(3000)}
            """);
        await using (var pooled = new NpgsqlConnection(database.ConnectionString))
        {
            NpgsqlConnection.ClearPool(pooled); // the settings apply to connections opened from now on
        }

        var dispatcher = provider.GetRequiredService<OutboxDispatcher>();

        // When
        await dispatcher.StartAsync(CancellationToken.None);
        try
        {
            await Eventually.TrueAsync(
                async () => await CountAsync(database.ConnectionString, "SELECT count(*) FROM outbox") == 0,
                TimeSpan.FromSeconds(60),
                "the outbox was not emptied",
                () => $"{sender.Sent.Count} of 3000 replies sent");
        }
        finally
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await dispatcher.StopAsync(stop.Token);
        }

        // Then: every reply once, and each device's in the order they were written
        Assert.Equal(3000, sender.Sent.Select(row => row.Id).Distinct().Count());
        foreach (var device in sender.Sent.GroupBy(row => row.DeviceId))
        {
            var ids = device.Select(row => row.Id).ToList();
            Assert.Equal(ids.Order(), ids);
        }
    }

    private static ServiceProvider Services(string connectionString, IReplySender sender, TimeProvider clock, TimeSpan? lease = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddDbContext<ProvisioningDbContext>((provider, options) => options.UseNpgsql(provider.GetRequiredService<NpgsqlDataSource>()));
        services.AddSingleton(clock);
        services.AddSingleton<ProjectionStatus>();
        services.AddSingleton<ProvisioningMetrics>();
        services.AddSingleton<DispatchWakeUp>();
        services.AddSingleton(sender);
        // What a reply with an unreadable password needs (none here): a new credential, rung to the projection.
        services.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider());
        services.AddSingleton<PasswordProtector>();
        services.AddSingleton<ReplySecrets>();
        services.AddSingleton<DeviceChangeSignal>();
        services.AddSingleton<CredentialReissue>();
        services.AddSingleton(new Brokers.BrokerFleet(new BrokersOptions(), new MosquittoOptions()));
        services.Configure<ProvisioningOptions>(options =>
        {
            options.OutboxLease = lease ?? _lease;
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

    /// <summary>Ready replies spread over 80 devices, in the order a burst of registrations writes them.</summary>
    private static string InsertReadyRepliesSql(int count) =>
        $"""
        INSERT INTO outbox (message_id, message_type, body, tenant_id, device_id, awaits_broker, created_at, attempts, next_attempt_at)
        SELECT gen_random_uuid(), 'CredentialsRevoked', repeat('x', 300), 'acme', 'd' || (n % 80), false, now(), 0, now()
        FROM generate_series(1, {count}) AS n;
        """;

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The system's clock and timers, with the wall clock <paramref name="step"/> ahead.</summary>
    private sealed class WallClockAhead(TimeSpan step) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + step;
    }

    /// <summary>
    /// Confirms every send at once except the very first, which it never confirms and which ignores its cancellation
    /// token: the publish that waits forever for a confirmation lost in a broker restart.
    /// </summary>
    private sealed class SenderLosingFirstConfirm : IReplySender
    {
        private readonly Lock _lock = new();
        private readonly List<Guid> _attempts = [];
        private readonly List<Guid> _delivered = [];

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

        /// <summary>Confirmed sends, in order.</summary>
        public IReadOnlyList<Guid> Delivered
        {
            get
            {
                lock (_lock)
                {
                    return [.. _delivered];
                }
            }
        }

        /// <summary>Whether the first send's token was cancelled.</summary>
        public bool Abandoned { get; private set; }

        public Task SendAsync(OutboxMessage row, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                _attempts.Add(row.MessageId);
                if (_attempts.Count == 1)
                {
                    cancellationToken.Register(() => Abandoned = true);
                    return new TaskCompletionSource().Task;
                }

                _delivered.Add(row.MessageId);
                return Task.CompletedTask;
            }
        }
    }

    /// <summary>Confirms every send at once and remembers the order of the sends.</summary>
    private sealed class RecordingSender : IReplySender
    {
        private readonly Lock _lock = new();
        private readonly List<OutboxMessage> _sent = [];

        public IReadOnlyList<OutboxMessage> Sent
        {
            get
            {
                lock (_lock)
                {
                    return [.. _sent];
                }
            }
        }

        public Task SendAsync(OutboxMessage row, CancellationToken cancellationToken)
        {
            lock (_lock)
            {
                _sent.Add(row);
            }

            return Task.CompletedTask;
        }
    }
}
