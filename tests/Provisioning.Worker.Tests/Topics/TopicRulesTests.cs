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

        Assert.Equal(["telemetry/acme/s1", "cmd/acme/s1/in", "t-acme-x/+/d_s1"], topics.Select(t => t.Filter));
        Assert.Equal([TopicAccess.Write, TopicAccess.Read, TopicAccess.Read], topics.Select(t => t.Access));
    }

    [Fact]
    public void The_default_rule_is_the_single_pattern_line_percent_u()
    {
        var rules = TopicRules.Parse([TopicRules.DefaultRule]);

        Assert.Equal("pattern readwrite devices/%u/#\n", Encoding.UTF8.GetString(rules.PatternLines()));
        Assert.False(rules.NeedsBlock("acme/s1"));
        Assert.Empty(rules.DeviceBlock("acme/s1"));
    }

    [Fact]
    public void Rules_with_the_ids_only_as_username_or_adjacent_levels_are_patterns_the_others_a_block_per_device()
    {
        var rules = TopicRules.Parse(["readwrite inbox/{username}/#", "write up/{tenantId}/{deviceId}", "read devices/{tenantId}/cmd/{deviceId}", "read cmd/{deviceId}/{tenantId}"]);

        Assert.Equal("pattern readwrite inbox/%u/#\npattern write up/%u\n", Encoding.UTF8.GetString(rules.PatternLines()));
        Assert.True(rules.NeedsBlock("acme/s1"));
        Assert.Equal("user acme/s1\ntopic read devices/acme/cmd/s1\ntopic read cmd/s1/acme\n", Encoding.UTF8.GetString(rules.DeviceBlock("acme/s1")));
    }

    [Fact]
    public void An_earlier_form_username_gets_a_block_with_every_rule_since_percent_u_does_not_give_its_topic_levels()
    {
        var rules = TopicRules.Parse([TopicRules.DefaultRule, "read inbox/{username}"]);

        Assert.True(rules.NeedsBlock("acme.s1"));
        Assert.Equal("user acme.s1\ntopic readwrite devices/acme/s1/#\ntopic read inbox/acme.s1\n", Encoding.UTF8.GetString(rules.DeviceBlock("acme.s1")));
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
