using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Provisioning.Worker.Brokers;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Health;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Tests.Health;

public class BrokerHealthChecksTests
{
    private static readonly DateTimeOffset _now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private static readonly AgentOptions _agent = new() { Broker = "b1", Group = "eu", MaxLag = TimeSpan.FromSeconds(10) };
    private static readonly TimeSpan _silence = TimeSpan.FromSeconds(30);

    // An agent's lag

    [Fact]
    public void An_agent_whose_files_were_never_rebuilt_and_proven_is_unhealthy()
    {
        // When
        var result = BrokerLagHealthCheck.Evaluate(null, _now, _agent, HealthStatus.Unhealthy);

        // Then
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("broker b1 (group eu)", result.Description, StringComparison.Ordinal);
        Assert.Contains("not been rebuilt", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_agent_reports_the_failure_status_of_its_registration()
    {
        // When
        var result = BrokerLagHealthCheck.Evaluate(_now.AddSeconds(-11), _now, _agent, HealthStatus.Degraded);

        // Then
        Assert.Equal(HealthStatus.Degraded, result.Status);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4_500)]
    [InlineData(10_000)]
    public void An_agent_proven_current_within_max_lag_is_healthy_and_reports_its_lag(int lagMilliseconds)
    {
        // When
        var result = BrokerLagHealthCheck.Evaluate(_now.AddMilliseconds(-lagMilliseconds), _now, _agent, HealthStatus.Unhealthy);

        // Then
        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(lagMilliseconds / 1000.0, result.Data["lagSeconds"]);
    }

    [Fact]
    public void An_agent_proven_current_longer_ago_than_max_lag_is_unhealthy_naming_the_key()
    {
        // When
        var result = BrokerLagHealthCheck.Evaluate(_now.AddSeconds(-12.5), _now, _agent, HealthStatus.Unhealthy);

        // Then
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("12.5 s ago", result.Description, StringComparison.Ordinal);
        Assert.Contains("Agent:MaxLag = 10 s", result.Description, StringComparison.Ordinal);
        Assert.Equal(12.5, result.Data["lagSeconds"]);
    }

    [Fact]
    public async Task An_agent_turns_ready_after_a_full_rebuild_and_unready_once_its_last_proof_is_older_than_max_lag()
    {
        // Given an agent that has just started
        var clock = new FakeTimeProvider(_now);
        var status = new ProjectionStatus();
        var check = new BrokerLagHealthCheck(status, Options.Create(_agent), clock);

        // When a cycle that was not a full read succeeds, then a full rebuild
        status.CycleSucceeded(clock.GetUtcNow(), fromFullRead: false);
        var beforeRebuild = await Check(check);
        status.CycleSucceeded(clock.GetUtcNow(), fromFullRead: true);
        var afterRebuild = await Check(check);
        clock.Advance(TimeSpan.FromSeconds(10));
        var atMaxLag = await Check(check);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var beyond = await Check(check);
        status.CycleSucceeded(clock.GetUtcNow(), fromFullRead: false);
        var caughtUp = await Check(check);

        // Then
        Assert.Equal(HealthStatus.Unhealthy, beforeRebuild.Status);
        Assert.Equal(HealthStatus.Healthy, afterRebuild.Status);
        Assert.Equal(HealthStatus.Healthy, atMaxLag.Status);
        Assert.Equal(HealthStatus.Unhealthy, beyond.Status);
        Assert.Equal(HealthStatus.Healthy, caughtUp.Status);
    }

    // The central worker's groups

    [Fact]
    public void Every_group_with_a_live_broker_is_healthy_and_counts_its_live_brokers()
    {
        // Given
        var brokers = new[] { Broker("b1", "eu"), Broker("b2", "eu"), Broker("b3", "us"), Broker("b4", "us", heard: false) };

        // When
        var result = BrokerGroupsHealthCheck.Evaluate(brokers, ["eu", "us"], _silence, HealthStatus.Unhealthy);

        // Then
        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(2, result.Data["eu"]);
        Assert.Equal(1, result.Data["us"]);
    }

    [Fact]
    public void A_group_with_no_broker_at_all_is_named()
    {
        // Given
        var brokers = new[] { Broker("b1", "eu") };

        // When
        var result = BrokerGroupsHealthCheck.Evaluate(brokers, ["eu", "us"], _silence, HealthStatus.Unhealthy);

        // Then
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("no live broker in group 'us'", result.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("'eu'", result.Description, StringComparison.Ordinal);
        Assert.Contains("Brokers:SilenceTimeout = 30 s", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Taken_out_and_silent_brokers_do_not_keep_a_group_live()
    {
        // Given 'eu' has one broker taken out and one silent; 'us' one live
        var brokers = new[] { Broker("b1", "eu", takenOut: true), Broker("b2", "eu", heard: false), Broker("b3", "us") };

        // When
        var result = BrokerGroupsHealthCheck.Evaluate(brokers, ["eu", "us"], _silence, HealthStatus.Unhealthy);

        // Then
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("no live broker in group 'eu'", result.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("'us'", result.Description, StringComparison.Ordinal);
        Assert.Equal(0, result.Data["eu"]);
    }

    [Fact]
    public void A_live_broker_of_a_group_not_configured_keeps_no_configured_group_live()
    {
        // Given
        var brokers = new[] { Broker("b1", "retired") };

        // When
        var result = BrokerGroupsHealthCheck.Evaluate(brokers, ["eu"], _silence, HealthStatus.Unhealthy);

        // Then
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("'eu'", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_group_without_a_live_broker_is_named()
    {
        // When
        var result = BrokerGroupsHealthCheck.Evaluate([], ["eu", "us"], _silence, HealthStatus.Degraded);

        // Then
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("'eu', 'us'", result.Description, StringComparison.Ordinal);
    }

    private static BrokerRecord Broker(string name, string group, bool heard = true, bool takenOut = false) =>
        new(name, group, takenOut, heard, heard ? TimeSpan.FromSeconds(1) : TimeSpan.FromMinutes(5), _now, 10, 100, 0);

    private static Task<HealthCheckResult> Check(IHealthCheck check) =>
        check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("broker", check, HealthStatus.Unhealthy, null) });
}
