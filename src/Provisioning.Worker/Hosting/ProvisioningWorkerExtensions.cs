using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Consumers;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Inbox;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Persistence;
using Provisioning.Worker.Projection;
using Serilog;

namespace Provisioning.Worker.Hosting;

public static class ProvisioningWorkerExtensions
{
    /// <summary>Everything the worker runs: options, database, consumers, projection, dispatcher.</summary>
    public static WebApplicationBuilder AddProvisioningWorker(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSerilog((provider, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .ReadFrom.Services(provider)
            .Enrich.FromLogContext());

        services.AddProvisioningOptions();
        services.AddSingleton(TimeProvider.System);

        services.AddDbContext<ProvisioningDbContext>((provider, options) => options
            .UseNpgsql(provider.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString)
            .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking));
        services.AddScoped<DeviceLifecycleService>();

        services.AddSingleton<ProjectionWakeUp>();
        services.AddSingleton<DispatchWakeUp>();
        services.AddSingleton<ProjectionStatus>();
        services.AddSingleton<MosquittoReloader>();
        services.AddSingleton<ReplySender>();
        services.AddSingleton<RedeliveryGuard>();

        // Order matters: hosted services start in registration order, and the schema must exist before anything consumes.
        services.AddHostedService<DatabaseMigrator>();
        services.AddHostedService<PasswdProjector>();
        services.AddHostedService<OutboxDispatcher>();
        services.AddHostedService<InboxCleanupService>();
        services.AddProvisioningBus();

        services.AddHealthChecks();
        return builder;
    }

    private static void AddProvisioningOptions(this IServiceCollection services)
    {
        services.AddOptions<MosquittoOptions>().BindConfiguration(MosquittoOptions.SectionName).ValidateOnStart();
        services.AddOptions<RabbitMqOptions>().BindConfiguration(RabbitMqOptions.SectionName).ValidateOnStart();
        services.AddOptions<ProvisioningOptions>().BindConfiguration(ProvisioningOptions.SectionName).ValidateOnStart();
        services.AddOptions<DatabaseOptions>()
            .Configure<IConfiguration>((options, configuration) =>
                options.ConnectionString = configuration.GetConnectionString(DatabaseOptions.ConnectionStringName) ?? string.Empty)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<MosquittoOptions>, MosquittoOptionsValidator>();
        services.AddSingleton<IValidateOptions<RabbitMqOptions>, RabbitMqOptionsValidator>();
        services.AddSingleton<IValidateOptions<ProvisioningOptions>, ProvisioningOptionsValidator>();
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();
    }

    private static void AddProvisioningBus(this IServiceCollection services) =>
        services.AddMassTransit(bus =>
        {
            bus.SetKebabCaseEndpointNameFormatter();
            bus.AddConsumer<DeviceRegisteredConsumer, DeviceRegisteredConsumerDefinition>();
            bus.AddConsumer<DeviceDeletedConsumer, DeviceDeletedConsumerDefinition>();
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var uri = new Uri(context.GetRequiredService<IOptions<RabbitMqOptions>>().Value.Uri);
                var (username, password) = RabbitMqUri.Credentials(uri);
                rabbit.Host(uri.Host, RabbitMqUri.Port(uri), RabbitMqUri.VirtualHost(uri), host =>
                {
                    host.Username(username);
                    host.Password(password);
                    host.PublisherConfirmation = true;
                    if (RabbitMqUri.IsTls(uri))
                    {
                        host.UseSsl(ssl => ssl.ServerName = uri.Host);
                    }
                });
                rabbit.ConfigureEndpoints(context);
            });
        });
}
