using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Brokers;

/// <summary>
/// The groups this worker serves and where each group's devices connect: <c>Brokers:Groups</c>, or, without it, the
/// one local broker as the group <c>default</c> at <c>Mosquitto:BrokerHost</c>/<c>BrokerPort</c>.
/// </summary>
public sealed class BrokerFleet
{
    private readonly Dictionary<string, BrokerEndpoint> _endpoints;

    public BrokerFleet(IOptions<BrokersOptions> brokers, IOptions<DeviceCredentialOptions> told)
        : this(brokers.Value, told.Value)
    {
    }

    public BrokerFleet(BrokersOptions brokers, DeviceCredentialOptions told)
    {
        _endpoints = brokers.IsFleet
            ? new Dictionary<string, BrokerEndpoint>(brokers.Groups, StringComparer.Ordinal)
            : new Dictionary<string, BrokerEndpoint>(StringComparer.Ordinal) { [BrokerGroups.Default] = new() { Host = told.BrokerHost, Port = told.BrokerPort } };
        Groups = _endpoints.Keys.Order(StringComparer.Ordinal).ToList();
        Pins = brokers.IsFleet ? brokers.Tenants : new Dictionary<string, string>(StringComparer.Ordinal);
        SilenceTimeout = brokers.SilenceTimeout;
    }

    /// <summary>The group names, sorted.</summary>
    public IReadOnlyList<string> Groups { get; }

    public IReadOnlyDictionary<string, string> Pins { get; }

    public TimeSpan SilenceTimeout { get; }

    /// <summary>The endpoint devices of <paramref name="group"/> are told.</summary>
    public BrokerEndpoint EndpointOf(string group) =>
        _endpoints.TryGetValue(group, out var endpoint)
            ? endpoint
            : throw new InvalidOperationException($"A tenant is placed in the broker group '{group}', which {BrokersOptions.SectionName}:Groups does not configure; add {BrokersOptions.SectionName}__Groups__{group}__Host and __Port (docs/fleet.md).");
}
