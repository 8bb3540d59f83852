using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// Puts N active devices straight into the database with COPY. Hashing N passwords at the configured cost would
/// take longer than the benchmark, so the devices share a pool of hashes; each pool password is known, so seeded
/// devices can log in to the broker (the idle clients of the broker-side run are seeded devices). With
/// <paramref name="tenants"/> above 1 the devices are spread over that many tenants (<c>bench-{i % tenants}</c>, for a
/// fleet of broker groups: FleetShape.cs); otherwise they all belong to the tenant <see cref="Tenant"/>.
/// </summary>
public sealed class Seeder(int hashPool, int iterations, int tenants = 1)
{
    public const string Tenant = "bench";

    /// <summary>How many tenants the seeded devices belong to.</summary>
    public int Tenants { get; } = Math.Max(1, tenants);

    private readonly (string Password, string Hash)[] _pool = BuildPool(hashPool, iterations);

    public static string DeviceId(int index) => "seed-" + index.ToString("D7", CultureInfo.InvariantCulture);

    public static string Username(int index) => DeviceIdentity.Username(Tenant, DeviceId(index));

    public string Password(int index) => _pool[index % _pool.Length].Password;

    /// <summary>The tenant of seeded device <paramref name="index"/> (and of registration <paramref name="index"/> of a run).</summary>
    public string TenantOf(int index) => Tenants == 1 ? Tenant : TenantName(index % Tenants);

    public static string TenantName(int tenant) => "bench-" + tenant.ToString(CultureInfo.InvariantCulture);

    public string UsernameOf(int index) => DeviceIdentity.Username(TenantOf(index), DeviceId(index));

    public async Task SeedAsync(string connectionString, int devices, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        await using (var import = await connection.BeginBinaryImportAsync(
            "COPY devices (tenant_id, device_id, username, status, password_hash, registered_at, updated_at) FROM STDIN (FORMAT BINARY)",
            cancellationToken))
        {
            for (var i = 0; i < devices; i++)
            {
                await import.StartRowAsync(cancellationToken);
                await import.WriteAsync(TenantOf(i), NpgsqlDbType.Varchar, cancellationToken);
                await import.WriteAsync(DeviceId(i), NpgsqlDbType.Varchar, cancellationToken);
                await import.WriteAsync(UsernameOf(i), NpgsqlDbType.Varchar, cancellationToken);
                await import.WriteAsync((int)DeviceStatus.Active, NpgsqlDbType.Integer, cancellationToken);
                await import.WriteAsync(_pool[i % _pool.Length].Hash, NpgsqlDbType.Text, cancellationToken);
                await import.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
                await import.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
            }

            await import.CompleteAsync(cancellationToken);
        }

        await using var analyze = new NpgsqlCommand("ANALYZE devices", connection);
        await analyze.ExecuteNonQueryAsync(cancellationToken);
    }

    private static (string, string)[] BuildPool(int size, int iterations)
    {
        var pool = new (string, string)[Math.Max(1, size)];
        Parallel.For(0, pool.Length, i =>
        {
            var password = CredentialGenerator.NewPassword();
            pool[i] = (password, MosquittoPasswordHash.Create(password, iterations));
        });
        return pool;
    }
}
