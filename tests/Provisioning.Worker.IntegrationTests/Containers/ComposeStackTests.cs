using System.Globalization;
using System.Net;
using DotNet.Testcontainers.Containers;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Containers;

/// <summary>
/// The container path (docs/testing.md): the Testcontainers fixture and the worker image, wired as compose/docker-compose.yml
/// wires them, with the images scripts/containers.sh builds (or the official ones, where a registry answers). Run by
/// scripts/test.sh after the loopback suite, never with it (<c>--filter Category=Containers</c>).
/// </summary>
[Trait("Category", "Containers")]
public sealed class ComposeStackTests(ComposeStack stack) : IClassFixture<ComposeStack>
{
    [Fact]
    public async Task Testcontainers_fixture_runs_the_compose_files_images_and_serves_the_tests_databases_and_virtual_hosts()
    {
        // Given
        var endpoints = stack.Endpoints;
        var compose = ComposeFile.Load();

        // When
        await using var database = await TestDatabase.CreateAsync(endpoints);
        await using var virtualHost = await TestVirtualHost.CreateAsync(endpoints);

        // Then
        Assert.Equal("testcontainers", endpoints.Source);
        Assert.Equal(compose.Service("postgres").Image, endpoints.PostgresContainer!.Image.FullName, ignoreCase: true);
        Assert.Equal(compose.Service("rabbitmq").Image, endpoints.RabbitMqContainer!.Image.FullName, ignoreCase: true);
        Assert.NotEqual(5432, endpoints.PostgresContainer.GetMappedPublicPort(5432));
        Assert.NotEqual(5672, endpoints.RabbitMqUri.Port);
        var whoami = await endpoints.Management.GetAsync("api/whoami");
        Assert.Equal(HttpStatusCode.OK, whoami.StatusCode);
        Assert.Contains("administrator", await whoami.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_image_wired_as_in_compose_issues_a_working_credential_revokes_it_is_healthy_and_stops_cleanly_on_SIGTERM()
    {
        // Given: the worker image beside Mosquitto, and an upstream app on RabbitMQ's published port
        var replies = new ReplyCollector();
        var bus = await PipelineHarness.StartUpstreamBusAsync(stack.Endpoints.RabbitMqUri, replies);
        IContainer? worker = null;
        try
        {
            worker = await stack.StartWorkerAsync();
            var logs = () => stack.LogsAsync(worker).GetAwaiter().GetResult();
            var tenant = "acme";
            var device = $"sensor-{Guid.NewGuid():N}"[..20];

            // Then: its own health check passed (StartWorkerAsync waited for it), as the uid Mosquitto runs as
            Assert.Equal(TestcontainersHealthStatus.Healthy, worker.Health);
            var uids = await worker.ExecAsync(["bash", "-c", "id -u; stat -c %u /proc/$(cat /mosquitto/run/mosquitto.pid)"]);
            Assert.True(uids.ExitCode == 0, $"id/stat in the worker container failed: {uids.Stderr}");
            var lines = uids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.Equal(lines[1], lines[0]);
            Assert.NotEqual("0", lines[0]);

            // When: a registration
            await bus.Publish(new Provisioning.Contracts.DeviceRegistered { TenantId = tenant, DeviceId = device });
            var issued = (await replies.WaitForOneAsync(nameof(Provisioning.Contracts.CredentialsIssued), tenant, device, TimeSpan.FromSeconds(60), logs)).Issued;

            // Then: the credential connects through Mosquitto's published port, as the reply tells the device to
            var (host, port) = stack.MosquittoEndpoint;
            Assert.Equal((host, port), (issued.BrokerHost, issued.BrokerPort));
            Assert.False(string.IsNullOrEmpty(issued.Password), "the reply carries no password");
            Assert.True(
                await MosquittoBroker.CanConnectAsync(issued.BrokerHost, issued.BrokerPort, issued.Username, issued.Password!, logs),
                $"the issued credential of {issued.Username} does not connect:\n{logs()}");
            Assert.False(
                await MosquittoBroker.CanConnectAsync(host, port, issued.Username, issued.Password + "x", logs),
                "a wrong password connects: the broker does not check the passwd file");

            // When: its deletion
            await bus.Publish(new Provisioning.Contracts.DeviceDeleted { TenantId = tenant, DeviceId = device });
            await replies.WaitForOneAsync(nameof(Provisioning.Contracts.CredentialsRevoked), tenant, device, TimeSpan.FromSeconds(60), logs);

            // Then: the broker refuses the credential
            Assert.False(
                await MosquittoBroker.CanConnectAsync(host, port, issued.Username, issued.Password!, logs),
                $"the credential of {issued.Username} still connects after its revocation:\n{logs()}");

            // When: SIGTERM (docker stop), Then: a clean exit, not the SIGKILL after docker's grace period
            await worker.StopAsync();
            var exitCode = await worker.GetExitCodeAsync();
            Assert.True(exitCode == 0, $"the worker exited with {exitCode.ToString(CultureInfo.InvariantCulture)} on SIGTERM:\n{logs()}");
        }
        finally
        {
            await bus.StopAsync();
            if (worker is not null)
            {
                await worker.DisposeAsync();
            }
        }
    }
}
