using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Health;

/// <summary>/metrics of the worker process (Prometheus text format) moving with real traffic.</summary>
[Collection(ServicesCollection.Name)]
public sealed partial class MetricsEndpointTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_counters_move_after_a_registration_and_the_dead_letter_gauge_counts_the_error_queue()
    {
        // Given
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        var worker = await harness.StartWorkerAsync(new Dictionary<string, string?> { ["Metrics__SampleInterval"] = "00:00:01" });
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        var (_, before) = await WorkerHttp.PollAsync(address, "/metrics", (_, body) => Value(body, "provisioning_dead_letters", "queue=\"device-registered_error\"") == 0, _timeout);
        Assert.Null(Value(before, "provisioning_credentials_issued_total"));

        // When
        await harness.PublishRegisteredAsync("acme", "metered");
        await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "metered", _timeout, harness.Diagnostics);
        var (status, after) = await WorkerHttp.PollAsync(address, "/metrics", (_, body) => Value(body, "provisioning_credentials_issued_total") == 1, _timeout);

        // Then
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(Value(after, "provisioning_credentials_issued_total") == 1, after);
        Assert.Equal(1, Value(after, "provisioning_events_consumed_total", "outcome=\"issued\"", "type=\"DeviceRegistered\""));
        Assert.True(Value(after, "provisioning_projection_rewrites_total") >= 2, after); // the start, then the registration
        Assert.True(Value(after, "provisioning_projection_duration_seconds_count") >= 2, after);
        Assert.Equal(1, Value(after, "provisioning_outbox_delivery_latency_seconds_count", "type=\"CredentialsIssued\""));
        Assert.Equal(1, Value(after, "provisioning_passwd_devices")); // the file was applied before the reply was released

        // When a message that cannot be read is dead-lettered
        await harness.SendRawAsync("device-registered", Encoding.UTF8.GetBytes("{ this is not json"), "application/vnd.masstransit+json");
        await harness.VirtualHost.WaitForQueueDepthAsync("device-registered_error", 1, _timeout);
        var (_, dead) = await WorkerHttp.PollAsync(address, "/metrics", (_, body) => Value(body, "provisioning_dead_letters", "queue=\"device-registered_error\"") == 1, _timeout);

        // Then
        Assert.True(Value(dead, "provisioning_dead_letters", "queue=\"device-registered_error\"") == 1, dead);
        Assert.Equal(0, Value(dead, "provisioning_outbox_backlog", "state=\"ready\""));
    }

    /// <summary>The value of the first sample of <paramref name="name"/> whose labels contain all of <paramref name="labels"/>; null when there is none.</summary>
    private static double? Value(string exposition, string name, params string[] labels)
    {
        foreach (Match sample in Sample().Matches(exposition))
        {
            if (sample.Groups["name"].Value == name && labels.All(label => sample.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            {
                return double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
