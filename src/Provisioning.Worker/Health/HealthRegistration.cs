using MassTransit;
using MassTransit.Configuration;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Health;

public static class HealthRegistration
{
    /// <summary>
    /// The checks of <c>/health/ready</c>: PostgreSQL; when consuming, the RabbitMQ bus and the outbox bounds; when
    /// keeping a broker, its passwd file and reload; a central worker, a live broker in every group; an agent, its
    /// broker's lag (what its load balancer asks).
    /// </summary>
    public static IServiceCollection AddProvisioningHealthChecks(this IServiceCollection services, Hosting.WorkerRole role)
    {
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HealthOptions>, HealthOptionsValidator>();

        // AddMassTransit registers its own bus check (tags "ready" and "masstransit"), named after the bus;
        // this is what bus.ConfigureHealthCheckOptions(...) configures: the name operators see, and a stopped or
        // disconnected bus reported as Unhealthy.
        services.Configure<MassTransitHealthCheckOptions<IBus>>(options =>
        {
            options.Name = HealthCheckNames.RabbitMq;
            options.MinimalFailureStatus = HealthStatus.Unhealthy;
        });

        string[] ready = [HealthCheckNames.ReadyTag];
        var checks = services.AddHealthChecks()
            .AddDbContextCheck<ProvisioningDbContext>(HealthCheckNames.PostgreSql, HealthStatus.Unhealthy, ready, SelectOneAsync);
        if (role == Hosting.WorkerRole.Agent)
        {
            checks.AddCheck<BrokerLagHealthCheck>(HealthCheckNames.BrokerLag, HealthStatus.Unhealthy, ready);
        }

        if (Hosting.WorkerRoles.KeepsBroker(role))
        {
            checks.AddCheck<PasswdFileHealthCheck>(HealthCheckNames.PasswdFile, HealthStatus.Unhealthy, ready)
                .AddCheck<MosquittoReloadHealthCheck>(HealthCheckNames.MosquittoReload, HealthStatus.Unhealthy, ready);
        }

        if (role == Hosting.WorkerRole.Central)
        {
            checks.AddCheck<BrokerGroupsHealthCheck>(HealthCheckNames.BrokerGroups, HealthStatus.Unhealthy, ready);
        }

        if (Hosting.WorkerRoles.Consumes(role))
        {
            checks.AddCheck<OutboxHealthCheck>(HealthCheckNames.Outbox, HealthStatus.Unhealthy, ready);
        }

        // A server that does not answer must not hold the probe for the connection timeout (15 s by default), nor
        // for ever when it keeps the connection open and silent: see BoundedHealthCheck.
        services.AddOptions<HealthCheckServiceOptions>().PostConfigure<IOptions<HealthOptions>>((options, health) =>
        {
            foreach (var registration in options.Registrations)
            {
                if (registration.Timeout == Timeout.InfiniteTimeSpan)
                {
                    registration.Timeout = health.Value.CheckTimeout;
                }

                var check = registration.Factory;
                var timeout = registration.Timeout;
                registration.Factory = provider => new BoundedHealthCheck(provider.GetRequiredService<IServiceScopeFactory>(), check, timeout);
            }
        });
        return services;
    }

    /// <summary>
    /// <c>/health/live</c>: the process serves HTTP (no dependency is checked, so a restart is never the answer to an
    /// outage elsewhere). <c>/health/ready</c>: every check; 200 when all are healthy, else 503 naming the failing ones.
    /// </summary>
    public static IEndpointRouteBuilder MapProvisioningHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = HealthResponseWriter.WriteAsync,
        });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(HealthCheckNames.ReadyTag),
            ResponseWriter = HealthResponseWriter.WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        return endpoints;
    }

    /// <summary>
    /// A round trip to the server. A failure names the server (never the connection string: it holds the password)
    /// and the error; the check reports it as its description.
    /// </summary>
    private static async Task<bool> SelectOneAsync(ProvisioningDbContext db, CancellationToken cancellationToken)
    {
        try
        {
            await db.Database.ExecuteSqlRawAsync("SELECT 1", cancellationToken);
            return true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            var server = new NpgsqlConnectionStringBuilder(db.Database.GetConnectionString());
            throw new DatabaseUnavailableException($"PostgreSQL at {server.Host}:{server.Port} (database {server.Database}) did not answer: {FailureText.Describe(e)}", e);
        }
    }

    private sealed class DatabaseUnavailableException(string message, Exception inner) : Exception(message, inner);
}
