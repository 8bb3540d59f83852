using Npgsql;

namespace Provisioning.Worker.Projection;

/// <summary>
/// Only one worker instance runs a cycle for a given broker at a time: a session-level advisory lock on the broker's
/// name (brokers of a fleet project side by side), held by the connection
/// the cycle uses, with no transaction open while the cycle writes files and waits for the broker. If the session
/// dies (crash, network), PostgreSQL drops the lock; <see cref="ConfirmAsync"/> before each file is replaced makes sure
/// an instance that lost its session does not write over a newer leader's files.
/// </summary>
public sealed class LeaderLock : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly long _key;

    private LeaderLock(NpgsqlConnection connection, long key)
    {
        _connection = connection;
        _key = key;
    }

    /// <summary>The lock of <paramref name="broker"/>'s projection, or null when another instance holds it.</summary>
    public static async Task<LeaderLock?> TryAcquireAsync(NpgsqlConnection connection, string broker, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT k, pg_try_advisory_lock(k) FROM (SELECT hashtextextended('provisioning-broker:' || @broker, 0) AS k) lock_key", connection);
        command.Parameters.AddWithValue("broker", broker);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.GetBoolean(1) ? new LeaderLock(connection, reader.GetInt64(0)) : null;
    }

    /// <summary>Throws when the session that holds the lock is gone.</summary>
    public async Task ConfirmAsync(CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT 1", _connection);
        await command.ExecuteScalarAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.State != System.Data.ConnectionState.Open)
        {
            return; // the session is gone, and its lock with it
        }

        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", _connection);
            command.Parameters.AddWithValue("key", _key);
            await command.ExecuteScalarAsync(CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // A broken session has released the lock already.
        }
    }
}
