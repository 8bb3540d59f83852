using System.Net;
using System.Text;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Health;

/// <summary>/metrics of the worker process (Prometheus text format) moving with real traffic.</summary>
[Collection(ServicesCollection.Name)]
public sealed class MetricsEndpointTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_counters_move_after_a_registration_and_the_dead_letter_gauge_counts_the_error_queue()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        var worker = await harness.StartWorkerAsync(new Dictionary<string, string?> { ["Metrics__SampleInterval"] = "00:00:01" });
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        var (_, before) = await WorkerHttp.PollAsync(address, "/metrics", (_, body) => PrometheusText.Value(body, "provisioning_dead_letters", "queue=\"device-registered_error\"") == 0, _timeout);
        Assert.Null(PrometheusText.Value(before, "provisioning_credentials_issued_total"));

        // When
        await harness.PublishRegisteredAsync("acme", "metered");
        await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "metered", _timeout, harness.Diagnostics);
        var (status, after) = await WorkerHttp.PollAsync(address, "/metrics", (_, body) => PrometheusText.Value(body, "provisioning_credentials_issued_total") == 1, _timeout);

        // Then
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(PrometheusText.Value(after, "provisioning_credentials_issued_total") == 1, after);
        Assert.Equal(1, PrometheusText.Value(after, "provisioning_events_consumed_total", "outcome=\"issued\"", "type=\"DeviceRegistered\""));
        Assert.True(PrometheusText.Value(after, "provisioning_projection_rewrites_total") >= 2, after); // the start, then the registration
        Assert.True(PrometheusText.Value(after, "provisioning_projection_duration_seconds_count") >= 2, after);
        Assert.Equal(1, PrometheusText.Value(after, "provisioning_outbox_delivery_latency_seconds_count", "type=\"CredentialsIssued\""));
        Assert.Equal(1, PrometheusText.Value(after, "provisioning_passwd_devices")); // the file was applied before the reply was released

        // When a message that cannot be read is dead-lettered
        await harness.SendRawAsync("device-registered", Encoding.UTF8.GetBytes("{ this is not json"), "application/vnd.masstransit+json");
        await harness.VirtualHost.WaitForQueueDepthAsync("device-registered_error", 1, _timeout);
        var (_, dead) = await WorkerHttp.PollAsync(address, "/metrics", (_, body) => PrometheusText.Value(body, "provisioning_dead_letters", "queue=\"device-registered_error\"") == 1, _timeout);

        // Then
        Assert.True(PrometheusText.Value(dead, "provisioning_dead_letters", "queue=\"device-registered_error\"") == 1, dead);
        Assert.Equal(0, PrometheusText.Value(dead, "provisioning_outbox_backlog", "state=\"ready\""));
    }
}
