namespace Provisioning.Worker.Brokers;

/// <summary>
/// Where a new tenant lives (DESIGN §3, docs/fleet.md): its pinned group (<c>Brokers:Tenants:&lt;tenantId&gt;</c>) when
/// configured, else the group with the fewest active devices, ties by name. A plain function; the placements are
/// stored, and kept, by <see cref="TenantPlacements"/>.
/// </summary>
public static class TenantPlacement
{
    /// <summary>
    /// Places <paramref name="newTenants"/> in order, each with the number of devices it brings now; a tenant placed
    /// counts for the next one, so a burst of new tenants spreads over the groups.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Place(
        IReadOnlyList<(string TenantId, int Devices)> newTenants,
        IReadOnlyCollection<string> groups,
        IReadOnlyDictionary<string, string> pins,
        IReadOnlyDictionary<string, long> activeDevices)
    {
        if (groups.Count == 0)
        {
            throw new ArgumentException("There is no broker group to place a tenant in.", nameof(groups));
        }

        var load = groups.ToDictionary(g => g, g => activeDevices.GetValueOrDefault(g), StringComparer.Ordinal);
        var placed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (tenantId, devices) in newTenants)
        {
            var group = pins.TryGetValue(tenantId, out var pinned)
                ? pinned
                : load.OrderBy(g => g.Value).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key;
            placed[tenantId] = group;
            if (load.TryGetValue(group, out var devicesThere))
            {
                // A pin to a group not served here (the validator refuses one at start) never makes that group a choice.
                load[group] = devicesThere + devices;
            }
        }

        return placed;
    }
}
