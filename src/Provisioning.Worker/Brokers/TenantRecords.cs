using Microsoft.EntityFrameworkCore;
using Npgsql;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Brokers;

/// <summary>The stored placements with their devices, for <c>tenants list|show</c>.</summary>
public static class TenantRecords
{
    /// <param name="tenantId">One tenant; empty: every tenant, by id, up to <paramref name="limit"/>.</param>
    public static async Task<IReadOnlyList<TenantRecord>> ListAsync(ProvisioningDbContext db, string tenantId, int limit, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand(
                """
                SELECT p.tenant_id, p.group_name, p.placed_at,
                       count(d.device_id) FILTER (WHERE d.status = @active), count(d.device_id)
                FROM tenant_placements p LEFT JOIN devices d ON d.tenant_id = p.tenant_id
                WHERE @tenant = '' OR p.tenant_id = @tenant
                GROUP BY p.tenant_id, p.group_name, p.placed_at
                ORDER BY p.tenant_id
                LIMIT @limit
                """,
                (NpgsqlConnection)db.Database.GetDbConnection());
            command.Parameters.AddWithValue("active", (int)DeviceStatus.Active);
            command.Parameters.AddWithValue("tenant", tenantId);
            command.Parameters.AddWithValue("limit", limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var tenants = new List<TenantRecord>();
            while (await reader.ReadAsync(cancellationToken))
            {
                tenants.Add(new TenantRecord(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetInt64(3), reader.GetInt64(4)));
            }

            return tenants;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}

/// <summary>A tenant's placement: its group, since when, its active devices and all its device rows (deleted ones included).</summary>
public sealed record TenantRecord(string TenantId, string Group, DateTimeOffset PlacedAt, long ActiveDevices, long Devices);
