using Microsoft.Extensions.Options;
using Provisioning.Worker.Brokers;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Tests.Brokers;

public class BrokerFleetTests
{
    private static readonly MosquittoOptions _localBroker = new() { BrokerHost = "mqtt.local", BrokerPort = 8883 };

    [Fact]
    public void Without_groups_the_fleet_is_one_group_named_default_at_the_local_brokers_endpoint()
    {
        // Given
        var brokers = new BrokersOptions();

        // When
        var fleet = new BrokerFleet(brokers, _localBroker);

        // Then
        Assert.Equal([BrokerGroups.Default], fleet.Groups);
        var endpoint = fleet.EndpointOf(BrokerGroups.Default);
        Assert.Equal(("mqtt.local", 8883), (endpoint.Host, endpoint.Port));
    }

    [Fact]
    public void Without_groups_pins_are_ignored()
    {
        // Given a pin and no group
        var brokers = new BrokersOptions { Tenants = new(StringComparer.Ordinal) { ["acme"] = "eu" } };

        // When
        var fleet = new BrokerFleet(brokers, _localBroker);

        // Then
        Assert.Empty(fleet.Pins);
        Assert.Throws<InvalidOperationException>(() => fleet.EndpointOf("eu"));
    }

    [Fact]
    public void With_groups_the_fleet_is_those_groups_sorted_by_ordinal_name_each_at_its_endpoint_and_no_default()
    {
        // Given groups configured in no order
        var brokers = Fleet(("us", "mqtt-us.example", 1883), ("eu", "mqtt-eu.example", 8883), ("Asia", "mqtt-asia.example", 1884));

        // When
        var fleet = new BrokerFleet(brokers, _localBroker);

        // Then
        Assert.Equal(["Asia", "eu", "us"], fleet.Groups);
        Assert.Equal(("mqtt-eu.example", 8883), (fleet.EndpointOf("eu").Host, fleet.EndpointOf("eu").Port));
        Assert.Equal(("mqtt-us.example", 1883), (fleet.EndpointOf("us").Host, fleet.EndpointOf("us").Port));
        Assert.Throws<InvalidOperationException>(() => fleet.EndpointOf(BrokerGroups.Default));
    }

    [Fact]
    public void With_groups_the_pins_and_the_silence_timeout_are_the_configured_ones()
    {
        // Given
        var brokers = Fleet(("eu", "mqtt-eu.example", 1883));
        brokers.Tenants["acme"] = "eu";
        brokers.SilenceTimeout = TimeSpan.FromSeconds(45);

        // When
        var fleet = new BrokerFleet(Options.Create(brokers), Options.Create(_localBroker));

        // Then
        Assert.Equal("eu", Assert.Single(fleet.Pins, p => p.Key == "acme").Value);
        Assert.Equal(TimeSpan.FromSeconds(45), fleet.SilenceTimeout);
    }

    [Fact]
    public void The_endpoint_of_an_unknown_group_throws_naming_the_group_and_the_key_to_set()
    {
        // Given
        var fleet = new BrokerFleet(Fleet(("eu", "mqtt-eu.example", 1883)), _localBroker);

        // When
        var thrown = Assert.Throws<InvalidOperationException>(() => fleet.EndpointOf("ghost"));

        // Then
        Assert.Contains("'ghost'", thrown.Message, StringComparison.Ordinal);
        Assert.Contains("Brokers__Groups__ghost__Host", thrown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Group_names_are_matched_exactly()
    {
        // Given
        var fleet = new BrokerFleet(Fleet(("eu", "mqtt-eu.example", 1883)), _localBroker);

        // Then
        Assert.Throws<InvalidOperationException>(() => fleet.EndpointOf("EU"));
    }

    private static BrokersOptions Fleet(params (string Group, string Host, int Port)[] groups)
    {
        var options = new BrokersOptions();
        foreach (var (group, host, port) in groups)
        {
            options.Groups[group] = new BrokerEndpoint { Host = host, Port = port };
        }

        return options;
    }
}
