using System.Globalization;
using Provisioning.Worker.IntegrationTests.Fleet;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Provisioning.Worker.IntegrationTests.Alerts;

/// <summary>
/// The fleet's rules (group <c>provisioning-fleet.alerts</c>) against a real fleet: each series they name is served, per
/// broker, by the process that compose/prometheus/prometheus-fleet.yml scrapes for it — the central worker (job
/// provisioning-worker) or every agent (job provisioning-broker-agent). A standalone worker serving the names
/// (<see cref="AlertRuleSeriesTests"/>) does not prove that a fleet does.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class FleetAlertRuleSeriesTests(ServiceEndpoints endpoints, ITestOutputHelper output)
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(60);

    /// <summary>Which process serves each fleet series (docs/fleet.md, "Configuration").</summary>
    private static readonly IReadOnlyDictionary<string, string> _servedBy = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["provisioning_broker_silent"] = "central",
        ["provisioning_broker_group_live_brokers"] = "central",
        ["provisioning_broker_heartbeat_age_seconds"] = "central",
        ["provisioning_broker_lag_seconds"] = "agent",
    };

    [Fact]
    public async Task Every_series_a_fleet_rule_names_is_served_per_broker_by_the_central_worker_or_each_agent()
    {
        // Given: the names the fleet's rules use, each known to come from the central worker or the agents
        var wanted = FleetExpressions().SelectMany(RuleFiles.MetricNames).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(wanted);
        Assert.Subset(_servedBy.Keys.ToHashSet(StringComparer.Ordinal), wanted);

        // And: two replicas of the group default, each with its agent, and a central worker sampling every second
        await using var world = await FleetWorld.StartAsync(endpoints, output, ("mqtt-a", "default"), ("mqtt-b", "default"));
        world.CentralSettings["Metrics__SampleInterval"] = "00:00:01";
        var central = await WorkerHttp.WaitForAddressAsync(await world.StartCentralAsync());

        // When: a registration, so that every broker has applied a change
        await world.PublishRegisteredAsync("acme", "alerted");
        await world.Replies.WaitForOneAsync("CredentialsIssued", "acme", "alerted", _timeout, world.Diagnostics);

        // Then: the central worker serves its series for each broker and the group
        var centralNames = wanted.Where(n => _servedBy[n] == "central").ToList();
        var (_, scrape) = await WorkerHttp.PollAsync(central, "/metrics", (_, body) => centralNames.All(n => Series(body, n).Any()), _timeout);
        foreach (var name in centralNames)
        {
            var series = Series(scrape, name);
            if (name == "provisioning_broker_group_live_brokers")
            {
                Assert.Contains(series, s => s.Contains("group=\"default\"", StringComparison.Ordinal));
                continue;
            }

            foreach (var replica in world.Replicas)
            {
                Assert.True(
                    series.Any(s => s.Contains($"broker=\"{replica.Name}\"", StringComparison.Ordinal) && s.Contains("group=\"default\"", StringComparison.Ordinal)),
                    $"the central worker serves no {name} for {replica.Name}:\n{scrape}");
            }
        }

        // And: each agent serves its own broker's lag
        foreach (var replica in world.Replicas)
        {
            var (_, body) = await WorkerHttp.PollAsync(replica.AgentAddress, "/metrics", (_, b) => Series(b, "provisioning_broker_lag_seconds").Any(), _timeout);
            var lag = Series(body, "provisioning_broker_lag_seconds");
            Assert.True(
                lag.Count == 1 && lag[0].Contains($"broker=\"{replica.Name}\"", StringComparison.Ordinal),
                $"agent {replica.Name} serves {lag.Count.ToString(CultureInfo.InvariantCulture)} lag series, not its own broker's one:\n{body}");
        }
    }

    /// <summary>The <c>expr:</c> lines of the rule group <c>provisioning-fleet.alerts</c>.</summary>
    private static IEnumerable<string> FleetExpressions()
    {
        var lines = RuleFiles.RuleFilePaths.SelectMany(File.ReadAllLines).ToList();
        var start = lines.FindIndex(l => l.Trim() == "- name: provisioning-fleet.alerts");
        Assert.True(start >= 0, "no rule group provisioning-fleet.alerts in compose/prometheus/rules");
        var end = lines.FindIndex(start + 1, l => l.TrimStart().StartsWith("- name:", StringComparison.Ordinal));
        var group = lines.GetRange(start, (end < 0 ? lines.Count : end) - start);
        // RuleFiles reads expressions from files: the group alone, in a file of its own for the while.
        var path = Path.Combine(Path.GetTempPath(), $"fleet-rules-{Guid.NewGuid():N}.yml");
        File.WriteAllLines(path, group);
        try
        {
            return RuleFiles.Expressions([path]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The sample lines of <paramref name="name"/> in a scrape (not its # HELP / # TYPE lines).</summary>
    private static List<string> Series(string scrape, string name) =>
        scrape.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)).ToList();
}
