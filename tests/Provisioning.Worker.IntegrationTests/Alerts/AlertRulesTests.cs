namespace Provisioning.Worker.IntegrationTests.Alerts;

/// <summary>compose/prometheus/ through Prometheus's own promtool: the rules load, and each alert fires and stays quiet where its tests say.</summary>
public sealed class AlertRulesTests
{
    [Fact]
    public async Task Promtool_accepts_the_rules_and_the_prometheus_configuration()
    {
        var rules = await ProcessRunner.RunAsync(RequiredTools.Promtool, ["check", "rules", .. RuleFiles.RuleFilePaths]);
        var config = await ProcessRunner.RunAsync(RequiredTools.Promtool, ["check", "config", Path.Combine(RuleFiles.Directory, "prometheus.yml")]);
        var fleetConfig = await ProcessRunner.RunAsync(RequiredTools.Promtool, ["check", "config", Path.Combine(RuleFiles.Directory, "prometheus-fleet.yml")]);

        Assert.True(rules.ExitCode == 0, rules.ToString());
        Assert.Contains("SUCCESS", rules.Stdout + rules.Stderr, StringComparison.Ordinal);
        Assert.True(config.ExitCode == 0, config.ToString());
        Assert.True(fleetConfig.ExitCode == 0, fleetConfig.ToString());
    }

    [Fact]
    public async Task Promtool_runs_the_rule_unit_tests_and_every_one_passes()
    {
        Assert.NotEmpty(RuleFiles.TestFilePaths);

        var result = await ProcessRunner.RunAsync(RequiredTools.Promtool, ["test", "rules", .. RuleFiles.TestFilePaths]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("FAILED", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_alert_has_a_unit_test_that_fires_it()
    {
        var alerts = RuleFiles.RuleFilePaths.SelectMany(File.ReadAllLines)
            .Select(l => l.Trim()).Where(l => l.StartsWith("- alert:", StringComparison.Ordinal)).Select(l => l["- alert:".Length..].Trim()).ToList();
        var tests = string.Join("\n", RuleFiles.TestFilePaths.Select(File.ReadAllText));

        Assert.NotEmpty(alerts);
        foreach (var alert in alerts)
        {
            Assert.Contains($"alertname: {alert}\n        exp_alerts:\n          - exp_labels:", tests, StringComparison.Ordinal);
            Assert.Contains($"alertname: {alert}\n        exp_alerts: []", tests, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_expression_reader_finds_metrics_and_skips_functions_keywords_labels_and_ranges()
    {
        var names = RuleFiles.MetricNames(
            "histogram_quantile(0.99, sum by (job, le) (rate(a_seconds_bucket{job=\"x\", le=~\"1.*\"}[5m] offset 1h))) > 2 unless on (job, instance) b_total and c");

        Assert.Equal(["a_seconds_bucket", "b_total", "c"], names.Order(StringComparer.Ordinal));
    }
}
