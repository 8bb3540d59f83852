using Npgsql;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// Holds a device's row lock (<c>SELECT … FOR UPDATE</c> in an open transaction) so that a consumer for that device
/// blocks in its transaction: a message certainly in flight, for as long as the test wants. Disposing releases it.
/// </summary>
public sealed class DeviceRowBlocker : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly string _connectionString;

    private DeviceRowBlocker(NpgsqlConnection connection, NpgsqlTransaction transaction, string connectionString)
    {
        _connection = connection;
        _transaction = transaction;
        _connectionString = connectionString;
    }

    /// <summary>Creates the row when needed (as a deleted device, the way a deletion of an unknown device does) and locks it.</summary>
    public static async Task<DeviceRowBlocker> HoldAsync(string connectionString, string tenantId, string deviceId)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO devices (tenant_id, device_id, username, status, updated_at) VALUES (@t, @d, @u, 0, now()) ON CONFLICT DO NOTHING",
            connection))
        {
            insert.Parameters.AddWithValue("t", tenantId);
            insert.Parameters.AddWithValue("d", deviceId);
            insert.Parameters.AddWithValue("u", $"{tenantId}/{deviceId}");
            await insert.ExecuteNonQueryAsync();
        }

        var transaction = await connection.BeginTransactionAsync();
        await using var select = new NpgsqlCommand("SELECT 1 FROM devices WHERE tenant_id = @t AND device_id = @d FOR UPDATE", connection, transaction);
        select.Parameters.AddWithValue("t", tenantId);
        select.Parameters.AddWithValue("d", deviceId);
        await select.ExecuteScalarAsync();
        return new DeviceRowBlocker(connection, transaction, connectionString);
    }

    /// <summary>Waits until another session (the consumer) is blocked by this one.</summary>
    public async Task WaitUntilSomeoneWaitsAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await Eventually.TrueAsync(
            async () =>
            {
                await using var query = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE @blocker = ANY(pg_blocking_pids(pid))", connection);
                query.Parameters.AddWithValue("blocker", _connection.ProcessID);
                return (long)(await query.ExecuteScalarAsync())! > 0;
            },
            TimeSpan.FromSeconds(30),
            "no consumer came to wait on the held device row",
            poll: TimeSpan.FromMilliseconds(50));
    }

    public async ValueTask DisposeAsync()
    {
        await _transaction.RollbackAsync();
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
