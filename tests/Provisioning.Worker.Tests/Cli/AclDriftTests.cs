using System.Text;
using Provisioning.Worker.Cli;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Tests.Cli;

public sealed class AclDriftTests
{
    private static readonly TopicRules _default = TopicRules.Parse([TopicRules.DefaultRule]);
    private static readonly TopicRules _patternOnly = TopicRules.Parse(["readwrite clients/{username}/#"]);

    private static byte[] File(params string[] lines) => Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");

    private static AclDrift Compare(byte[]? file, TopicRules rules, long? appliedXmin, params DeviceLineSource[] rows)
    {
        var drift = new AclDrift(file, rules, appliedXmin);
        foreach (var row in rows)
        {
            drift.Add(row);
        }

        drift.Finish();
        return drift;
    }

    private static DeviceLineSource Row(string username, bool active, long xid = 10) => new(username, active, active ? "$7$hash" : null, xid);

    [Fact]
    public void The_blocks_the_rules_give_each_active_device_are_in_step_whatever_the_operator_blocks()
    {
        var drift = Compare(
            File("pattern readwrite devices/%u/#", "user service-pulse", "topic readwrite #", "", "user acme.d1", "topic readwrite devices/acme/d1/#", "user acme.d2", "topic readwrite devices/acme/d2/#"),
            _default,
            appliedXmin: 100,
            Row("acme.d1", active: true),
            Row("acme.d2", active: true),
            Row("acme.gone", active: false));

        Assert.True(drift.InStep, string.Join("; ", drift.Items));
        Assert.Equal(2, drift.FileDeviceBlocks);
    }

    [Fact]
    public void Each_kind_of_drift_is_named_with_its_device()
    {
        var drift = Compare(
            File(
                "pattern readwrite devices/%u/#",
                "user acme.wide", "topic readwrite #",
                "user acme.deleted", "topic readwrite devices/acme/deleted/#",
                "user acme.stranger", "topic readwrite devices/acme/stranger/#"),
            _default,
            appliedXmin: 100,
            Row("acme.missing", active: true),
            Row("acme.wide", active: true),
            Row("acme.deleted", active: false));

        Assert.Equal(
            [(PasswdDrift.Missing, "acme.missing"), (PasswdDrift.Stale, "acme.wide"), (PasswdDrift.Deleted, "acme.deleted"), (PasswdDrift.Unknown, "acme.stranger")],
            drift.Items.Select(i => (i.Kind, i.Username!)));
        Assert.False(drift.InStep);
    }

    [Fact]
    public void A_difference_of_a_device_changed_after_the_checkpoint_is_unconfirmed()
    {
        var drift = Compare(File("pattern readwrite devices/%u/#"), _default, appliedXmin: 100, Row("acme.late", active: true, xid: 100));

        var item = Assert.Single(drift.Items);
        Assert.Equal((PasswdDrift.Missing, "acme.late", true), (item.Kind, item.Username, item.Unconfirmed));
    }

    [Fact]
    public void With_pattern_rules_a_device_needs_no_block_but_the_pattern_line_must_be_there()
    {
        var inStep = Compare(File("pattern readwrite clients/%u/#"), _patternOnly, appliedXmin: null, Row("acme/d1", active: true));
        var lacking = Compare(File("# no pattern"), _patternOnly, appliedXmin: null, Row("acme/d1", active: true));

        Assert.True(inStep.InStep, string.Join("; ", inStep.Items));
        var item = Assert.Single(lacking.Items);
        Assert.Equal(PasswdDrift.Missing, item.Kind);
        Assert.Contains("pattern readwrite clients/%u/#", item.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_lacks_the_pattern_line_and_every_earlier_form_devices_block()
    {
        var drift = Compare(null, _default, appliedXmin: null, Row("acme.d1", active: true), Row("acme.d2", active: false), Row("acme/d3", active: true));

        Assert.False(drift.FileExists);
        Assert.Equal([(PasswdDrift.Missing, "acme.d1")], drift.Items.Where(i => i.Username is not null).Select(i => (i.Kind, i.Username!)));
        Assert.Contains(drift.Items, i => i.Username is null && i.Detail.Contains("pattern readwrite devices/%u/#", StringComparison.Ordinal));
    }

    [Fact]
    public void With_the_default_rule_a_current_form_device_needs_no_block_and_an_earlier_form_one_needs_all_its_topics()
    {
        var drift = Compare(
            File("pattern readwrite devices/%u/#", "user acme.old", "topic readwrite devices/acme/old/#"),
            _default,
            appliedXmin: null,
            Row("acme/new", active: true),
            Row("acme.old", active: true));

        Assert.True(drift.InStep, string.Join("; ", drift.Items));
        Assert.Equal(1, drift.FileDeviceBlocks);
    }
}
