using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Health;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Tests.Health;

public class HealthRegistrationTests
{
    [Fact]
    public async Task Ready_runs_the_bus_check_MassTransit_registers_under_the_name_rabbitmq_beside_the_worker_checks_each_with_a_timeout()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Health:CheckTimeout"] = "00:00:02" })
            .Build());
        services.AddLogging();
        services.AddDbContext<ProvisioningDbContext>(options => options.UseNpgsql("Host=localhost"));
        services.AddMassTransit(bus => bus.UsingInMemory());
        services.AddProvisioningHealthChecks();
        await using var provider = services.BuildServiceProvider();

        var registrations = provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations;

        Assert.Equal(
            new[] { HealthCheckNames.MosquittoReload, HealthCheckNames.Outbox, HealthCheckNames.PasswdFile, HealthCheckNames.PostgreSql, HealthCheckNames.RabbitMq },
            registrations.Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.All(registrations, r => Assert.Contains(HealthCheckNames.ReadyTag, r.Tags));
        Assert.All(registrations, r => Assert.Equal(TimeSpan.FromSeconds(2), r.Timeout));
        Assert.All(registrations, r => Assert.Equal(HealthStatus.Unhealthy, r.FailureStatus));
    }
}
