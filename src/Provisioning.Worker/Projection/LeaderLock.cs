using Npgsql;

namespace Provisioning.Worker.Projection;

/// <summary>
/// Only one worker instance runs a projection cycle at a time: a session-level advisory lock, held by the connection
/// the cycle uses, with no transaction open while the cycle writes files and waits for the broker. If the session
/// dies (crash, network), PostgreSQL drops the lock; <see cref="ConfirmAsync"/> before each file is replaced makes sure
/// an instance that lost its session does not write over a newer leader's files.
/// </summary>
public sealed class LeaderLock : IAsyncDisposable
{
    private const long Key = 0x5072_6F76_5061_7373; // "ProvPass"
    private readonly NpgsqlConnection _connection;

    private LeaderLock(NpgsqlConnection connection) => _connection = connection;

    /// <summary>The lock, or null when another instance holds it.</summary>
    public static async Task<LeaderLock?> TryAcquireAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection);
        command.Parameters.AddWithValue("key", Key);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))! ? new LeaderLock(connection) : null;
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
            command.Parameters.AddWithValue("key", Key);
            await command.ExecuteScalarAsync(CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // A broken session has released the lock already.
        }
    }
}
