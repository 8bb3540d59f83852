using Npgsql;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>
/// A fresh, uniquely named PostgreSQL database for one test, dropped (WITH (FORCE)) on dispose.
/// Its schema is whatever the test puts there: the worker's migrations, typically.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _serverConnectionString;

    private TestDatabase(string serverConnectionString, string name, string connectionString)
    {
        _serverConnectionString = serverConnectionString;
        Name = name;
        ConnectionString = connectionString;
    }

    /// <summary>The database's name: <c>test_</c> and 32 hex digits.</summary>
    public string Name { get; }

    /// <summary>Npgsql connection string to this database (same server, same role).</summary>
    public string ConnectionString { get; }

    public static async Task<TestDatabase> CreateAsync(ServiceEndpoints endpoints, CancellationToken cancellationToken = default)
    {
        var name = $"test_{Guid.NewGuid():N}";
        await ExecuteAsync(endpoints.PostgresConnectionString, $"CREATE DATABASE \"{name}\"", cancellationToken);
        var connectionString = new NpgsqlConnectionStringBuilder(endpoints.PostgresConnectionString) { Database = name }.ConnectionString;
        return new TestDatabase(endpoints.PostgresConnectionString, name, connectionString);
    }

    public async ValueTask DisposeAsync()
    {
        // Pooled connections would only be broken by the forced drop: let them go first.
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            NpgsqlConnection.ClearPool(connection);
        }

        // PostgreSQL 15 refuses the forced drop while an autovacuum worker is in the database (it checks the right to
        // signal every backend, and autovacuum belongs to no role): the worker finishes within moments, so try again.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAsync(_serverConnectionString, $"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", CancellationToken.None);
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege && attempt < 20)
            {
                await Task.Delay(250);
            }
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
