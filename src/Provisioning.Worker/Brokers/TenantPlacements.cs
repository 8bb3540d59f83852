using Npgsql;
using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Brokers;

/// <summary>
/// The stored placements (<c>tenant_placements</c>), read and made inside the lifecycle transaction, so a tenant's
/// first devices and its placement commit together. Two instances placing the same new tenant agree: the second
/// insert waits for the first and yields to it (ON CONFLICT DO NOTHING), then both read the one stored row.
/// Placements never change, so those read from the table are cached; those made here are not, until a later
/// transaction reads them committed.
/// </summary>
public sealed class TenantPlacements(BrokerFleet fleet)
{
    private readonly Dictionary<string, string> _committed = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>The group of each tenant, placing the new ones; <paramref name="tenants"/> with the devices each brings in this transaction.</summary>
    public async Task<IReadOnlyDictionary<string, string>> GroupsOfAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<(string TenantId, int Devices)> tenants, CancellationToken cancellationToken)
    {
        var groups = new Dictionary<string, string>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var (tenantId, _) in tenants)
            {
                if (_committed.TryGetValue(tenantId, out var group))
                {
                    groups[tenantId] = group;
                }
            }
        }

        var unknown = tenants.Where(t => !groups.ContainsKey(t.TenantId)).OrderBy(t => t.TenantId, StringComparer.Ordinal).ToList();
        if (unknown.Count == 0)
        {
            return groups;
        }

        var stored = await ReadAsync(connection, transaction, unknown.Select(t => t.TenantId).ToArray(), cancellationToken);
        lock (_lock)
        {
            foreach (var (tenantId, group) in stored)
            {
                _committed[tenantId] = group;
                groups[tenantId] = group;
            }
        }

        var toPlace = unknown.Where(t => !stored.ContainsKey(t.TenantId)).ToList();
        if (toPlace.Count == 0)
        {
            return groups;
        }

        var load = fleet.Groups.Count > 1 ? await ActiveDevicesAsync(connection, transaction, cancellationToken) : new Dictionary<string, long>();
        var placed = TenantPlacement.Place(toPlace, fleet.Groups, fleet.Pins, load);
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO tenant_placements (tenant_id, group_name, placed_at)
            SELECT t, g, now() FROM unnest(@tenants, @groups) AS x(t, g) ORDER BY t
            ON CONFLICT (tenant_id) DO NOTHING
            """,
            connection,
            transaction))
        {
            insert.Parameters.AddWithValue("tenants", placed.Keys.ToArray());
            insert.Parameters.AddWithValue("groups", placed.Values.ToArray());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        // What is stored wins: another instance may have placed a tenant first.
        foreach (var (tenantId, group) in await ReadAsync(connection, transaction, placed.Keys.ToArray(), cancellationToken))
        {
            groups[tenantId] = group;
        }

        return groups;
    }

    private static async Task<Dictionary<string, string>> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string[] tenants, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT tenant_id, group_name FROM tenant_placements WHERE tenant_id = ANY(@tenants)", connection, transaction);
        command.Parameters.AddWithValue("tenants", tenants);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            result[reader.GetString(0)] = reader.GetString(1);
        }

        return result;
    }

    private static async Task<Dictionary<string, long>> ActiveDevicesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT coalesce(p.group_name, @defaultGroup), count(*)
            FROM devices d LEFT JOIN tenant_placements p ON p.tenant_id = d.tenant_id
            WHERE d.status = @active
            GROUP BY 1
            """,
            connection,
            transaction);
        command.Parameters.AddWithValue("defaultGroup", BrokerGroups.Default);
        command.Parameters.AddWithValue("active", (int)DeviceStatus.Active);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            result[reader.GetString(0)] = reader.GetInt64(1);
        }

        return result;
    }
}
