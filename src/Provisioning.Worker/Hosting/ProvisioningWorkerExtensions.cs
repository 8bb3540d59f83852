using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Provisioning.Worker.Brokers;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Consumers;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Health;
using Provisioning.Worker.Inbox;
using Provisioning.Worker.Metrics;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Persistence;
using Provisioning.Worker.Projection;
using Provisioning.Worker.Secrets;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Hosting;

public static class ProvisioningWorkerExtensions
{
    /// <summary>What the worker runs in <paramref name="role"/> (docs/fleet.md): options, database, then the consumers and dispatcher, the broker's projection, or both.</summary>
    public static WebApplicationBuilder AddProvisioningWorker(this WebApplicationBuilder builder, WorkerRole role)
    {
        var services = builder.Services;
        services.AddWorkerSerilog(builder.Configuration);

        services.AddProvisioningOptions(role);
        services.AddSingleton(TimeProvider.System);

        // One pool: EF's context and the raw connections (projection, notifications) share it.
        services.AddSingleton(provider => NpgsqlDataSource.Create(WorkerConnectionString.For(provider.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString)));
        services.AddDbContext<ProvisioningDbContext>((provider, options) => options
            .UseNpgsql(provider.GetRequiredService<NpgsqlDataSource>())
            .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking));
        services.AddSingleton<BrokerFleet>();
        services.AddSingleton<DeviceChangeSignal>();
        services.AddSingleton<DispatchWakeUp>();
        services.AddTopicRules();

        // Order matters. Hosted services start in registration order: the schema must exist before anything consumes.
        // They stop in the reverse order: the dispatcher and the projection finish their cycle while the bus still
        // runs (a reply being sent is sent), then the bus stops consuming and lets the messages in hand complete.
        // The group commit starts before the bus and so stops after it: the consumers' last events still commit.
        if (role.Consumes())
        {
            services.AddHostedService<KeyRingCheck>();
        }

        services.AddHostedService<DatabaseMigrator>();
        services.AddHostedService<DatabaseNotifications>();
        if (role.Consumes())
        {
            services.AddConsumers(role);
        }

        if (role.KeepsBroker())
        {
            services.AddBrokerProjection();
        }

        if (role.Consumes())
        {
            services.AddHostedService<OutboxDispatcher>();
            services.AddHostedService<InboxCleanupService>();
            services.AddGracefulShutdown();
        }

        services.AddProvisioningHealthChecks(role);
        services.AddProvisioningMetrics(role);
        return builder;
    }

    /// <summary>The consuming side: group commit, the bus and what the dispatcher needs to send.</summary>
    private static void AddConsumers(this IServiceCollection services, WorkerRole role)
    {
        // Devices are told their topics only when they are enforced: by this worker (Mosquitto:AclFile set), or by the
        // agents of a fleet, which must manage the acl_file (MosquittoOptionsValidator). The same rules the acl_file
        // is written from, parsed once.
        services.AddSingleton<IDeviceTopics>(provider => role == WorkerRole.Central
            ? provider.GetRequiredService<TopicRules>()
            : TopicRules.ToldToDevices(provider.GetRequiredService<IOptions<MosquittoOptions>>().Value, provider.GetRequiredService<TopicRules>));
        services.AddSingleton<TenantPlacements>();
        services.AddSingleton<IReplySender, ReplySender>();
        services.AddProvisioningSecrets();
        services.AddSingleton<CredentialReissue>();
        services.AddSingleton<RedeliveryGuard>();
        services.AddSingleton<GroupCommit>();
        services.AddHostedService(provider => provider.GetRequiredService<GroupCommit>());
        services.AddProvisioningBus();
    }

    /// <summary>
    /// <c>Provisioning:ShutdownTimeout</c> bounds the whole stop. MassTransit first lets the messages in hand complete,
    /// for half of it: without <c>ConsumerStopTimeout</c> it cancels them at once, and a message cancelled mid-way is
    /// redelivered rather than finished. Then it cancels them (they return to their queue) and waits a little more.
    /// </summary>
    private static void AddGracefulShutdown(this IServiceCollection services)
    {
        services.AddOptions<HostOptions>().Configure<IOptions<ProvisioningOptions>>((host, provisioning) =>
            host.ShutdownTimeout = provisioning.Value.ShutdownTimeout);
        services.AddOptions<MassTransitHostOptions>().Configure<IOptions<ProvisioningOptions>>((bus, provisioning) =>
        {
            bus.ConsumerStopTimeout = provisioning.Value.ShutdownTimeout / 2;
            bus.StopTimeout = provisioning.Value.ShutdownTimeout * 3 / 4;
        });
    }

    /// <summary>The options and their validators; the operator commands (Cli/CommandOptions.cs) read configuration through these too.</summary>
    internal static IServiceCollection AddProvisioningOptions(this IServiceCollection services, WorkerRole role = WorkerRole.Standalone)
    {
        services.AddOptions<BrokersOptions>().BindConfiguration(BrokersOptions.SectionName).ValidateOnStart();
        services.AddOptions<AgentOptions>().BindConfiguration(AgentOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BrokersOptions>, BrokersOptionsValidator>();
        services.AddSingleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>();
        services.AddOptions<MosquittoOptions>().BindConfiguration(MosquittoOptions.SectionName).ValidateOnStart();
        services.AddOptions<RabbitMqOptions>().BindConfiguration(RabbitMqOptions.SectionName).ValidateOnStart();
        services.AddOptions<ProvisioningOptions>().BindConfiguration(ProvisioningOptions.SectionName).ValidateOnStart();
        services.AddOptions<SecretsOptions>().BindConfiguration(SecretsOptions.SectionName)
            // The default sits beside the passwd file: read as configured, so that reading these options does not
            // depend on the rest of the Mosquitto section being valid.
            .PostConfigure<IConfiguration>((secrets, configuration) =>
            {
                if (string.IsNullOrWhiteSpace(secrets.KeyRingDirectory)
                    && configuration[$"{MosquittoOptions.SectionName}:{nameof(MosquittoOptions.PasswdFile)}"] is { Length: > 0 } passwdFile)
                {
                    secrets.KeyRingDirectory = SecretsOptions.DefaultFor(passwdFile);
                }
            })
            .ValidateOnStart();
        services.AddOptions<DatabaseOptions>()
            .Configure<IConfiguration>((options, configuration) =>
                options.ConnectionString = configuration.GetConnectionString(DatabaseOptions.ConnectionStringName) ?? string.Empty)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<MosquittoOptions>>(new MosquittoOptionsValidator(role));
        services.AddSingleton<IValidateOptions<RabbitMqOptions>, RabbitMqOptionsValidator>();
        services.AddSingleton<IValidateOptions<ProvisioningOptions>, ProvisioningOptionsValidator>();
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();
        services.AddSingleton<IValidateOptions<SecretsOptions>, SecretsOptionsValidator>();
        return services;
    }

    private static void AddProvisioningBus(this IServiceCollection services) =>
        services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            // MassTransit 8.4+ reports usage to its vendor over HTTPS after a few minutes: no outbound calls from here.
            bus.DisableUsageTelemetry();
            bus.AddConsumer<DeviceRegisteredConsumer, DeviceRegisteredConsumerDefinition>();
            bus.AddConsumer<DeviceDeletedConsumer, DeviceDeletedConsumerDefinition>();
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var options = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value;
                var uri = new Uri(options.Uri);
                var (username, password) = RabbitMqUri.Credentials(uri);
                rabbit.Host(uri.Host, RabbitMqUri.Port(uri), RabbitMqUri.VirtualHost(uri), host =>
                {
                    host.Username(username);
                    host.Password(password);
                    host.PublisherConfirmation = true;
                    host.Heartbeat(options.Heartbeat);
                    if (RabbitMqUri.IsTls(uri))
                    {
                        host.UseSsl(ssl => ssl.ServerName = uri.Host);
                    }
                });
                rabbit.ConfigureEndpoints(context);
            });
        });
}
