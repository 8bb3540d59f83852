using System.Net;
using Npgsql;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Health;

/// <summary>/health/live and /health/ready of the worker process, against real servers.</summary>
[Collection(ServicesCollection.Name)]
public sealed class HealthEndpointTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _settle = TimeSpan.FromSeconds(30);
    private static readonly string[] _allChecks = ["rabbitmq", "postgresql", "passwd-file", "mosquitto-reload", "outbox"];

    [Fact]
    public async Task Ready_is_200_with_every_check_healthy_when_all_is_well()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        var worker = await harness.StartWorkerAsync();
        var address = await WorkerHttp.WaitForAddressAsync(worker);

        // When
        var (status, body) = await WorkerHttp.PollAsync(address, "/health/ready", (s, _) => s == HttpStatusCode.OK, _settle);

        // Then
        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}\n{harness.Diagnostics()}");
        var checks = WorkerHttp.Checks(body);
        Assert.Equal(_allChecks.Order(), checks.Keys.Order());
        Assert.All(checks.Values, check => Assert.Equal("Healthy", check.Status));
        Assert.Empty(WorkerHttp.Failing(body));
        var (liveStatus, _) = await WorkerHttp.GetAsync(address, "/health/live");
        Assert.Equal(HttpStatusCode.OK, liveStatus);
    }

    [Fact]
    public async Task Ready_is_503_naming_postgresql_while_the_database_refuses_connections_and_200_again_after()
    {
        // Given a worker that reaches PostgreSQL only through a forwarder the test can close
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        var database = new NpgsqlConnectionStringBuilder(harness.Database.ConnectionString);
        await using var proxy = TcpProxy.Start(database.Host!, database.Port);
        database.Host = "127.0.0.1";
        database.Port = proxy.Port;
        var worker = await harness.StartWorkerAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Provisioning"] = database.ConnectionString,
            ["Health__CheckTimeout"] = "00:00:02",
        });
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        var (before, beforeBody) = await WorkerHttp.PollAsync(address, "/health/ready", (s, _) => s == HttpStatusCode.OK, _settle);
        Assert.True(before == HttpStatusCode.OK, $"not ready before the outage: {beforeBody}\n{harness.Diagnostics()}");
        Assert.True(proxy.Accepted > 0, "the worker did not connect through the proxy");

        // When
        await proxy.CloseAsync();
        var (during, body) = await WorkerHttp.PollAsync(address, "/health/ready", (s, _) => s == HttpStatusCode.ServiceUnavailable, _settle);

        // Then
        Assert.True(during == HttpStatusCode.ServiceUnavailable, $"{during}: {body}");
        Assert.Contains("postgresql", WorkerHttp.Failing(body));
        var postgres = WorkerHttp.Checks(body)["postgresql"];
        Assert.Equal("Unhealthy", postgres.Status);
        Assert.StartsWith($"PostgreSQL at 127.0.0.1:{proxy.Port} ", postgres.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", body, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("Healthy", WorkerHttp.Checks(body)["rabbitmq"].Status);
        Assert.Equal(HttpStatusCode.OK, (await WorkerHttp.GetAsync(address, "/health/live")).Status);

        // When the database is back
        proxy.Open();
        var (after, afterBody) = await WorkerHttp.PollAsync(address, "/health/ready", (s, _) => s == HttpStatusCode.OK, _settle);

        // Then
        Assert.True(after == HttpStatusCode.OK, $"{after}: {afterBody}\n{harness.Diagnostics()}");
    }

    [Fact]
    public async Task Ready_is_503_naming_mosquitto_reload_once_the_broker_is_gone_even_before_a_reload_is_needed()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        var worker = await harness.StartWorkerAsync();
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        var (before, beforeBody) = await WorkerHttp.PollAsync(address, "/health/ready", (s, _) => s == HttpStatusCode.OK, _settle);
        Assert.True(before == HttpStatusCode.OK, $"not ready before the broker died: {beforeBody}\n{harness.Diagnostics()}");

        // When the broker dies without removing its pid file
        var pid = (await File.ReadAllTextAsync(harness.Broker.PidFile)).Trim();
        Assert.Equal(0, (await ProcessRunner.RunAsync("kill", ["-KILL", pid])).ExitCode);
        var (during, body) = await WorkerHttp.PollAsync(address, "/health/ready", (s, _) => s == HttpStatusCode.ServiceUnavailable, _settle);

        // Then
        Assert.True(during == HttpStatusCode.ServiceUnavailable, $"{during}: {body}");
        Assert.Equal(["mosquitto-reload"], WorkerHttp.Failing(body));
        Assert.Contains($"No process has the pid {pid}", WorkerHttp.Checks(body)["mosquitto-reload"].Description, StringComparison.Ordinal);
    }
}
