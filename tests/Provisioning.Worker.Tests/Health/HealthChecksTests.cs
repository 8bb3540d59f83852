using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Provisioning.Worker.Health;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Tests.Health;

public class HealthChecksTests
{
    private static readonly DateTimeOffset _now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly HealthOptions _bounds = new() { MaxOutboxBacklog = 100, MaxReplyAge = TimeSpan.FromMinutes(5) };

    [Fact]
    public void An_outbox_within_bounds_is_healthy_and_reports_its_numbers()
    {
        var result = OutboxHealthCheck.Evaluate(new OutboxBacklog(3, 97, _now.AddMinutes(-4)), _now, _bounds, HealthStatus.Unhealthy);

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(100L, result.Data["backlog"]);
        Assert.Equal(240.0, result.Data["oldestReplyAgeSeconds"]);
    }

    [Fact]
    public void A_backlog_over_the_bound_fails_naming_the_key()
    {
        var result = OutboxHealthCheck.Evaluate(new OutboxBacklog(1, 100, _now), _now, _bounds, HealthStatus.Unhealthy);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("101 replies undelivered", result.Description, StringComparison.Ordinal);
        Assert.Contains("Health:MaxOutboxBacklog = 100", result.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("MaxReplyAge", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void An_old_reply_fails_naming_the_key_even_when_the_backlog_is_small()
    {
        var result = OutboxHealthCheck.Evaluate(new OutboxBacklog(0, 1, _now.AddMinutes(-6)), _now, _bounds, HealthStatus.Unhealthy);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("oldest undelivered reply is 360 s old", result.Description, StringComparison.Ordinal);
        Assert.Contains("Health:MaxReplyAge = 300 s", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_outbox_has_no_age()
    {
        var result = OutboxHealthCheck.Evaluate(new OutboxBacklog(0, 0, null), _now, _bounds, HealthStatus.Unhealthy);

        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(0.0, result.Data["oldestReplyAgeSeconds"]);
    }

    [Fact]
    public void The_reload_check_fails_until_the_first_projection_succeeded()
    {
        var status = new ProjectionStatus();

        Assert.Equal(HealthStatus.Unhealthy, MosquittoReloadHealthCheck.Evaluate(status.Current, HealthStatus.Unhealthy).Status);

        status.Applied(_now, 7);
        var result = MosquittoReloadHealthCheck.Evaluate(status.Current, HealthStatus.Unhealthy);
        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(7, result.Data["devices"]);
    }

    [Fact]
    public void Topic_authorization_off_is_data_on_the_reload_check_not_a_failure()
    {
        var status = new ProjectionStatus();
        status.Applied(_now, 3);

        var off = MosquittoReloadHealthCheck.Evaluate(status.Current, HealthStatus.Unhealthy, managesTopics: false);
        var on = MosquittoReloadHealthCheck.Evaluate(status.Current, HealthStatus.Unhealthy, managesTopics: true);

        Assert.Equal(HealthStatus.Healthy, off.Status);
        Assert.StartsWith("off: Mosquitto:AclFile is not set", (string)off.Data["topicAuthorization"], StringComparison.Ordinal);
        Assert.Equal("on", on.Data["topicAuthorization"]);
    }

    [Fact]
    public void The_reload_check_fails_after_a_failed_projection_and_recovers_with_the_next_success()
    {
        var status = new ProjectionStatus();
        status.Applied(_now, 1);

        status.Failed(_now.AddSeconds(5), "Cannot signal Mosquitto (pid 42 from /run/mosquitto.pid): No such process. Is the broker running?");
        var failed = MosquittoReloadHealthCheck.Evaluate(status.Current, HealthStatus.Unhealthy);

        Assert.Equal(HealthStatus.Unhealthy, failed.Status);
        Assert.Contains("Cannot signal Mosquitto (pid 42", failed.Description, StringComparison.Ordinal);
        Assert.Contains("last success at 2026-11-23T12:00:00", failed.Description, StringComparison.Ordinal);

        status.Applied(_now.AddSeconds(10), 1);
        Assert.Equal(HealthStatus.Healthy, MosquittoReloadHealthCheck.Evaluate(status.Current, HealthStatus.Unhealthy).Status);
    }

    [Fact]
    public void The_body_names_the_failing_checks_with_their_descriptions_and_no_exception_details()
    {
        var report = new HealthReport(
            new Dictionary<string, HealthReportEntry>
            {
                ["rabbitmq"] = new(HealthStatus.Healthy, "Ready", TimeSpan.FromMilliseconds(1), null, null),
                ["postgresql"] = new(HealthStatus.Unhealthy, "PostgreSQL at db:5432 (database provisioning) did not answer: refused", TimeSpan.FromMilliseconds(2), new InvalidOperationException("secret stack"), null),
                ["outbox"] = new(HealthStatus.Degraded, null, TimeSpan.Zero, null, new Dictionary<string, object> { ["backlog"] = 5L, ["note"] = "x" }),
            },
            TimeSpan.FromMilliseconds(3));

        using var json = JsonDocument.Parse(HealthResponseWriter.Render(report));
        var root = json.RootElement;

        Assert.Equal("Unhealthy", root.GetProperty("status").GetString());
        Assert.Equal(["postgresql", "outbox"], root.GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("PostgreSQL at db:5432 (database provisioning) did not answer: refused", root.GetProperty("checks").GetProperty("postgresql").GetProperty("description").GetString());
        Assert.Equal("Degraded", root.GetProperty("checks").GetProperty("outbox").GetProperty("description").GetString());
        Assert.Equal(5, root.GetProperty("checks").GetProperty("outbox").GetProperty("data").GetProperty("backlog").GetInt64());
        Assert.DoesNotContain("secret stack", json.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_failure_is_described_down_its_inner_chain_without_repeats()
    {
        var e = new InvalidOperationException("Exception while writing to stream", new IOException("Unable to write data to the transport connection: Broken pipe.", new IOException("Broken pipe")));

        Assert.Equal("Exception while writing to stream: Unable to write data to the transport connection: Broken pipe", FailureText.Describe(e));
    }

    [Theory]
    [InlineData(0, "00:05:00", "00:00:03", "Health:MaxOutboxBacklog is 0")]
    [InlineData(10, "00:00:00", "00:00:03", "Health:MaxReplyAge is 00:00:00")]
    [InlineData(10, "00:05:00", "00:05:00", "Health:CheckTimeout is 00:05:00")]
    public void Invalid_health_options_name_the_key(int backlog, string age, string timeout, string expected)
    {
        var options = new HealthOptions { MaxOutboxBacklog = backlog, MaxReplyAge = TimeSpan.Parse(age, System.Globalization.CultureInfo.InvariantCulture), CheckTimeout = TimeSpan.Parse(timeout, System.Globalization.CultureInfo.InvariantCulture) };

        var result = new HealthOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_health_options_are_valid() =>
        Assert.True(new HealthOptionsValidator().Validate(null, new HealthOptions()).Succeeded);
}
