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
        services.AddProvisioningHealthChecks(Provisioning.Worker.Hosting.WorkerRole.Standalone);
        await using var provider = services.BuildServiceProvider();

        var registrations = provider.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations;

        Assert.Equal(
            new[] { HealthCheckNames.MosquittoReload, HealthCheckNames.Outbox, HealthCheckNames.PasswdFile, HealthCheckNames.PostgreSql, HealthCheckNames.RabbitMq },
            registrations.Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.All(registrations, r => Assert.Contains(HealthCheckNames.ReadyTag, r.Tags));
        Assert.All(registrations, r => Assert.Equal(TimeSpan.FromSeconds(2), r.Timeout));
        Assert.All(registrations, r => Assert.Equal(HealthStatus.Unhealthy, r.FailureStatus));
    }

    [Fact]
    public async Task A_check_that_ignores_its_cancellation_ends_at_the_timeout_and_keeps_its_scope_until_it_really_ends()
    {
        // Given: a check that waits, like Npgsql on a server that answers nothing, and does not observe its token
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Health:CheckTimeout"] = "00:00:00.200" })
            .Build());
        services.AddLogging();
        services.AddDbContext<ProvisioningDbContext>(options => options.UseNpgsql("Host=localhost"));
        services.AddMassTransit(bus => bus.UsingInMemory());
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        services.AddScoped<ScopedResource>();
        services.AddHealthChecks().Add(new HealthCheckRegistration("deaf", provider => new DeafCheck(release.Task, provider.GetRequiredService<ScopedResource>()), HealthStatus.Unhealthy, ["ready"]));
        services.AddProvisioningHealthChecks(Provisioning.Worker.Hosting.WorkerRole.Standalone);
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();

        // When
        var started = System.Diagnostics.Stopwatch.StartNew();
        var report = await health.CheckHealthAsync(r => r.Name == "deaf").WaitAsync(TimeSpan.FromSeconds(10));

        // Then: answered at the timeout, naming it; the check's scope is disposed only once the check ends
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["deaf"].Status);
        Assert.Contains("Health:CheckTimeout", report.Entries["deaf"].Description, StringComparison.Ordinal);
        Assert.False(ScopedResource.LastDisposed);
        release.SetResult();
        for (var i = 0; i < 100 && !ScopedResource.LastDisposed; i++)
        {
            await Task.Delay(20);
        }

        Assert.True(ScopedResource.LastDisposed);
    }

    private sealed class ScopedResource : IDisposable
    {
        public ScopedResource() => LastDisposed = false;

        public static bool LastDisposed { get; private set; }

        public void Dispose() => LastDisposed = true;
    }

    private sealed class DeafCheck(Task release, ScopedResource resource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            await release;
            GC.KeepAlive(resource);
            return HealthCheckResult.Healthy();
        }
    }
}
