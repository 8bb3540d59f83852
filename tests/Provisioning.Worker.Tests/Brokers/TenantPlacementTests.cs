using Provisioning.Worker.Brokers;

namespace Provisioning.Worker.Tests.Brokers;

public class TenantPlacementTests
{
    private static readonly Dictionary<string, string> _noPins = new(StringComparer.Ordinal);

    [Fact]
    public void A_pinned_tenant_goes_to_its_group_even_when_another_group_has_fewer_devices()
    {
        // Given
        var pins = new Dictionary<string, string>(StringComparer.Ordinal) { ["acme"] = "eu" };
        var active = Load(("eu", 1_000), ("us", 0));

        // When
        var placed = TenantPlacement.Place([("acme", 3)], ["eu", "us"], pins, active);

        // Then
        Assert.Equal("eu", placed["acme"]);
    }

    [Fact]
    public void An_unpinned_tenant_goes_to_the_group_with_the_fewest_active_devices()
    {
        // Given
        var active = Load(("a", 10), ("b", 3), ("c", 5));

        // When
        var placed = TenantPlacement.Place([("acme", 1)], ["a", "b", "c"], _noPins, active);

        // Then
        Assert.Equal("b", placed["acme"]);
    }

    [Fact]
    public void Groups_with_as_many_devices_are_chosen_by_name_in_ordinal_order()
    {
        // Given groups in no particular order, with as many devices; ordinal puts 'B' before 'a' and 'b'
        var active = Load(("b", 4), ("a", 4), ("B", 4));

        // When
        var placed = TenantPlacement.Place([("acme", 1)], ["b", "a", "B"], _noPins, active);

        // Then
        Assert.Equal("B", placed["acme"]);
    }

    [Fact]
    public void A_group_with_no_devices_yet_counts_zero_and_takes_the_new_tenant()
    {
        // Given a group the device counts do not mention yet
        var active = Load(("a", 1));

        // When
        var placed = TenantPlacement.Place([("acme", 1)], ["a", "z"], _noPins, active);

        // Then
        Assert.Equal("z", placed["acme"]);
    }

    [Fact]
    public void Device_counts_of_a_group_no_longer_configured_are_not_a_place_to_go()
    {
        // Given a group that held devices once and is not among the groups anymore
        var active = Load(("retired", 0), ("a", 50));

        // When
        var placed = TenantPlacement.Place([("acme", 1)], ["a"], _noPins, active);

        // Then
        Assert.Equal("a", placed["acme"]);
    }

    [Fact]
    public void A_burst_of_new_tenants_spreads_because_each_placed_tenant_counts_for_the_next()
    {
        // Given two empty groups
        var active = Load();

        // When three tenants arrive together
        var placed = TenantPlacement.Place([("t1", 5), ("t2", 1), ("t3", 1), ("t4", 4)], ["a", "b"], _noPins, active);

        // Then t1 takes 'a' (tie by name), t2 and t3 go to the lighter 'b' (1, then 2), t4 ties 'b' at 2 < 5
        Assert.Equal("a", placed["t1"]);
        Assert.Equal("b", placed["t2"]);
        Assert.Equal("b", placed["t3"]);
        Assert.Equal("b", placed["t4"]);
    }

    [Fact]
    public void A_burst_of_tenants_without_devices_all_go_to_the_same_lightest_group()
    {
        // Given
        var active = Load(("a", 2), ("b", 1));

        // When tenants bring no device yet
        var placed = TenantPlacement.Place([("t1", 0), ("t2", 0)], ["a", "b"], _noPins, active);

        // Then nothing they bring changes the counts
        Assert.Equal(["b", "b"], new[] { placed["t1"], placed["t2"] });
    }

    [Fact]
    public void The_devices_of_a_pinned_tenant_count_for_the_tenants_placed_after_it()
    {
        // Given 'a' is empty and 'b' holds 5 devices; t1 is pinned to 'a' and brings 10
        var pins = new Dictionary<string, string>(StringComparer.Ordinal) { ["t1"] = "a" };
        var active = Load(("b", 5));

        // When
        var placed = TenantPlacement.Place([("t1", 10), ("t2", 1)], ["a", "b"], pins, active);

        // Then t2 no longer finds 'a' the lightest
        Assert.Equal("a", placed["t1"]);
        Assert.Equal("b", placed["t2"]);
    }

    [Fact]
    public void Every_new_tenant_is_placed_and_no_other()
    {
        // Given
        var active = Load(("a", 0));

        // When
        var placed = TenantPlacement.Place([("t1", 1), ("t2", 1)], ["a"], _noPins, active);

        // Then
        Assert.Equal(["t1", "t2"], placed.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Without_any_group_placing_a_tenant_throws()
    {
        // When
        var thrown = Assert.Throws<ArgumentException>(() => TenantPlacement.Place([("acme", 1)], [], _noPins, Load()));

        // Then
        Assert.Equal("groups", thrown.ParamName);
    }

    private static Dictionary<string, long> Load(params (string Group, long Devices)[] groups) =>
        groups.ToDictionary(g => g.Group, g => g.Devices, StringComparer.Ordinal);
}
