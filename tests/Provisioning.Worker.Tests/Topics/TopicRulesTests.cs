using System.Text;
using Provisioning.Contracts;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Tests.Topics;

public class TopicRulesTests
{
    [Fact]
    public void The_default_rule_gives_a_device_its_own_subtree_only()
    {
        var rules = TopicRules.Parse([TopicRules.DefaultRule]);

        var topics = rules.For("acme", "sensor-1");

        Assert.Equal([new TopicPermission { Filter = "devices/acme/sensor-1/#", Access = TopicAccess.ReadWrite }], topics);
    }

    [Fact]
    public void Placeholders_fill_whole_levels_and_parts_of_levels_in_configuration_order()
    {
        var rules = TopicRules.Parse(["write telemetry/{tenantId}/{deviceId}", "read cmd/{username}/in", "read t-{tenantId}-x/+/d_{deviceId}"]);

        var topics = rules.For("acme", "s1");

        Assert.Equal(["telemetry/acme/s1", "cmd/acme.s1/in", "t-acme-x/+/d_s1"], topics.Select(t => t.Filter));
        Assert.Equal([TopicAccess.Write, TopicAccess.Read, TopicAccess.Read], topics.Select(t => t.Access));
    }

    [Fact]
    public void A_rule_with_only_the_username_becomes_one_pattern_line_and_the_others_a_block_per_device()
    {
        var rules = TopicRules.Parse(["readwrite inbox/{username}/#", "read devices/{tenantId}/{deviceId}/cmd"]);

        Assert.Equal("pattern readwrite inbox/%u/#\n", Encoding.UTF8.GetString(rules.PatternLines()));
        Assert.Equal("user acme.s1\ntopic read devices/acme/s1/cmd\n", Encoding.UTF8.GetString(rules.DeviceBlock("acme.s1")));
    }

    [Fact]
    public void With_only_pattern_rules_a_device_needs_no_block()
    {
        var rules = TopicRules.Parse(["readwrite devices/{username}/#"]);

        Assert.Empty(rules.DeviceBlock("acme.s1"));
    }

    [Theory]
    [InlineData("readwrite devices/{tenant}/#", "unknown placeholder {tenant}")]
    [InlineData("readwrite devices/#/x", "'#' must be a whole level and the last one")]
    [InlineData("readwrite devices/{deviceId}#", "'#' must be a whole level")]
    [InlineData("readwrite devices/a+/x", "'+' must be a whole level")]
    [InlineData("readwrite", "empty filter")]
    [InlineData("", "the rule is empty")]
    [InlineData("subscribe devices/x", "the access 'subscribe' is not one of read, write, readwrite")]
    [InlineData("deny devices/x", "the access 'deny'")]
    [InlineData("read devices/{deviceId", "unmatched '{'")]
    public void Invalid_templates_say_why(string template, string expected)
    {
        var problem = Assert.Single(TopicRules.Problems([TopicRules.DefaultRule, template]));

        Assert.Equal(1, problem.Index);
        Assert.Contains(expected, problem.Problem, StringComparison.Ordinal);
    }
}
