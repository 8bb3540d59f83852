using System.Net;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Provisioning.Worker.Devices;
using Provisioning.Worker.IntegrationTests.Infrastructure;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.IntegrationTests.Cli;

/// <summary>
/// A migrated database of its own and a directory for a passwd file, for the operator commands run as processes.
/// Rows are written with plain SQL, so each test sets exactly the state it reads back (the trigger stamps changed_xid).
/// </summary>
public sealed class CliWorld : IAsyncDisposable
{
    /// <summary>In every reply body written here: the commands must never print it.</summary>
    public const string ReplyPassword = "reply-password-never-shown";

    private readonly string _directory = Directory.CreateTempSubdirectory("cli-world-").FullName;

    private CliWorld(TestDatabase database) => Database = database;

    public TestDatabase Database { get; }

    public string PasswdFile => Path.Combine(_directory, "passwd");

    public Dictionary<string, string?> Environment => new()
    {
        ["ConnectionStrings__Provisioning"] = Database.ConnectionString,
        ["Mosquitto__PasswdFile"] = PasswdFile,
    };

    public static async Task<CliWorld> CreateAsync(ServiceEndpoints endpoints)
    {
        var database = await TestDatabase.CreateAsync(endpoints);
        await using var db = new ProvisioningDbContext(new DbContextOptionsBuilder<ProvisioningDbContext>().UseNpgsql(database.ConnectionString).Options);
        await db.Database.MigrateAsync();
        return new CliWorld(database);
    }

    public Task<ProcessResult> RunAsync(params string[] args) => WorkerProcess.RunToExitAsync(args, Environment);

    /// <summary>A device row as the worker writes it; its changed_xid.</summary>
    public async Task<long> AddDeviceAsync(string tenantId, string deviceId, DeviceStatus status, string? hash, DateTimeOffset updatedAt, DateTimeOffset? registeredAt = null, DateTimeOffset? deletedAt = null)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO devices (tenant_id, device_id, username, status, password_hash, registered_at, deleted_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING changed_xid
            """,
            connection);
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = deviceId });
        command.Parameters.Add(new() { Value = DeviceIdentity.Username(tenantId, deviceId) });
        command.Parameters.Add(new() { Value = (int)status });
        command.Parameters.Add(new() { Value = (object?)hash ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = (object?)registeredAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = (object?)deletedAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new() { Value = updatedAt });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A reply in the outbox; its id.</summary>
    public async Task<long> AddReplyAsync(string tenantId, string deviceId, string type, bool awaitsBroker, DateTimeOffset createdAt, int attempts = 0, DateTimeOffset? nextAttemptAt = null, string? lastError = null)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO outbox (message_id, message_type, body, tenant_id, device_id, awaits_broker, created_at, attempts, next_attempt_at, last_error)
            VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
            """,
            connection);
        command.Parameters.Add(new() { Value = type });
        command.Parameters.Add(new() { Value = $"{{\"password\":\"{ReplyPassword}\"}}" });
        command.Parameters.Add(new() { Value = tenantId });
        command.Parameters.Add(new() { Value = deviceId });
        command.Parameters.Add(new() { Value = awaitsBroker });
        command.Parameters.Add(new() { Value = createdAt });
        command.Parameters.Add(new() { Value = attempts });
        command.Parameters.Add(new() { Value = nextAttemptAt ?? createdAt });
        command.Parameters.Add(new() { Value = (object?)lastError ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The default broker's checkpoint, as its projection writes it once the broker confirmed a file (a snapshot with that xmin and no transaction in progress).</summary>
    public async Task SetCheckpointAsync(long appliedXmin, int activeDevices, DateTimeOffset appliedAt)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO brokers (name, group_name, applied_snapshot, active_devices, applied_at, heartbeat_at) VALUES ('default', 'default', ($1::text || ':' || $1::text || ':')::pg_snapshot, $2, $3, now())
            ON CONFLICT (name) DO UPDATE SET applied_snapshot = excluded.applied_snapshot, active_devices = excluded.active_devices, applied_at = excluded.applied_at
            """,
            connection);
        command.Parameters.Add(new() { Value = appliedXmin });
        command.Parameters.Add(new() { Value = activeDevices });
        command.Parameters.Add(new() { Value = appliedAt });
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Database.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}

/// <summary>A TCP port that accepts connections and never says a word: a database that hangs.</summary>
public sealed class SilentServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public SilentServer() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Dispose() => _listener.Dispose();
}
