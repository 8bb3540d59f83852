using Provisioning.Contracts;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Outbox;

namespace Provisioning.Worker.Tests.Brokers;

public class LifecycleRulesEndpointTests
{
    private static readonly DateTimeOffset _t = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset _now = _t.AddHours(1);
    private static readonly LifecycleRules _rules = new("broker.example", 8883);
    private static readonly ReplyRoute _noReplyRoute = new(null, null, null, null);

    [Fact]
    public void A_registration_is_told_its_tenants_group_endpoint_and_a_tenant_not_in_the_map_the_constructors_broker()
    {
        // Given two registrations in one batch, of a tenant placed in 'eu' and of one the map does not know
        var placed = Registration("acme", "sensor-1");
        var unplaced = Registration("globex", "sensor-2");
        var endpoints = new Dictionary<string, BrokerEndpoint>(StringComparer.Ordinal)
        {
            ["acme"] = new() { Host = "mqtt-eu.example", Port = 1884 },
        };

        // When
        var result = Apply([placed, unplaced], endpoints);

        // Then
        var toPlaced = Assert.IsType<CredentialsIssued>(result.Decisions[0]?.Reply);
        var toUnplaced = Assert.IsType<CredentialsIssued>(result.Decisions[1]?.Reply);
        Assert.Equal(("mqtt-eu.example", 1884), (toPlaced.BrokerHost, toPlaced.BrokerPort));
        Assert.Equal(("broker.example", 8883), (toUnplaced.BrokerHost, toUnplaced.BrokerPort));
    }

    [Fact]
    public void Without_a_map_every_registration_is_told_the_constructors_broker()
    {
        // Given
        var registration = Registration("acme", "sensor-1");

        // When
        var result = Apply([registration], endpoints: null);

        // Then
        var issued = Assert.IsType<CredentialsIssued>(result.Decisions[0]?.Reply);
        Assert.Equal(("broker.example", 8883), (issued.BrokerHost, issued.BrokerPort));
    }

    [Fact]
    public void Tenants_are_looked_up_by_their_exact_id()
    {
        // Given an endpoint for 'ACME' and a registration of 'acme'
        var registration = Registration("acme", "sensor-1");
        var endpoints = new Dictionary<string, BrokerEndpoint>(StringComparer.Ordinal)
        {
            ["ACME"] = new() { Host = "mqtt-other.example", Port = 1885 },
        };

        // When
        var result = Apply([registration], endpoints);

        // Then
        Assert.Equal("broker.example", Assert.IsType<CredentialsIssued>(result.Decisions[0]?.Reply).BrokerHost);
    }

    private static LifecycleBatchResult Apply(DeviceEvent[] events, IReadOnlyDictionary<string, BrokerEndpoint>? endpoints) =>
        _rules.ApplyInArrivalOrder(
            events,
            events.Select(e => e.InboxKey).ToHashSet(),
            events.Select(e => Device.Unknown(e.TenantId!, e.DeviceId!)),
            events.ToDictionary(e => e.MessageId, e => new NewCredential($"pw-{e.DeviceId}", $"hash-of-pw-{e.DeviceId}")),
            new NoDeviceTopics(),
            _now,
            endpoints);

    private static DeviceEvent Registration(string tenant, string device) =>
        new(DeviceEventKind.Registered, Guid.NewGuid(), tenant, device, _t, _noReplyRoute);
}
