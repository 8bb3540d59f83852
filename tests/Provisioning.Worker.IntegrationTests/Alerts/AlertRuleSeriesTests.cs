using Provisioning.Contracts;
using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.Alerts;

/// <summary>
/// The rules against a real worker's /metrics: every series a rule names must be one the worker serves. A series
/// appears once it has a value, so the worker is driven through what the rules watch: a registration (issued
/// counter, delivery latency), a sampling round (outbox and dead-letter gauges), a projection failure (an operator
/// line the broker would refuse).
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class AlertRuleSeriesTests(ServiceEndpoints endpoints)
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Every_series_a_rule_names_is_served_by_the_worker()
    {
        // Given: the names the rules use, beyond what Prometheus makes itself and what the rules record
        var paths = RuleFiles.RuleFilePaths;
        var recorded = RuleFiles.RecordedNames(paths);
        var wanted = RuleFiles.Expressions(paths).SelectMany(RuleFiles.MetricNames)
            .Where(name => !recorded.Contains(name) && !RuleFiles.PrometheusSeries.Contains(name))
            .ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(wanted);

        // And a worker started as an operator starts it, with host arguments after the explicit command word
        await using var harness = await PipelineHarness.StartAsync(endpoints);
        var environment = harness.WorkerEnvironment();
        environment.Remove("ASPNETCORE_URLS");
        environment["Metrics__SampleInterval"] = "00:00:01";
        await using var worker = WorkerProcess.Start(["run", "--urls", "http://127.0.0.1:0"], environment);
        var address = await WorkerHttp.WaitForAddressAsync(worker);
        var (ready, readiness) = await WorkerHttp.PollAsync(address, "/health/ready", (status, _) => status == System.Net.HttpStatusCode.OK, _timeout);
        Assert.True(ready == System.Net.HttpStatusCode.OK, readiness);

        // When
        await harness.PublishRegisteredAsync("acme", "alerted");
        await harness.Replies.WaitForOneAsync(nameof(CredentialsIssued), "acme", "alerted", _timeout, () => worker.Stdout + worker.Stderr);
        await File.AppendAllTextAsync(harness.Broker.PasswdFile, "a line the broker refuses\n");
        var (_, body) = await WorkerHttp.PollAsync(address, "/metrics", (_, scrape) => wanted.IsSubsetOf(PrometheusText.SeriesNames(scrape)), _timeout);

        // Then
        var missing = wanted.Except(PrometheusText.SeriesNames(body)).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, $"the rules name series the worker does not serve: {string.Join(", ", missing)}\n--- /metrics ---\n{body}");
    }
}
