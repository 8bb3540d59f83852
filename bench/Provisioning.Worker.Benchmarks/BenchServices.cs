using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// The shared PostgreSQL and RabbitMQ (addresses from scripts/deps.sh's <c>.deps/env</c>). The benchmark only
/// ever creates and drops its own database and virtual hosts there.
/// </summary>
public sealed class BenchServices : IDisposable
{
    private const string PostgresVariable = "PROVISIONING_TEST_POSTGRES";
    private const string RabbitMqVariable = "PROVISIONING_TEST_RABBITMQ";
    private const string ManagementVariable = "PROVISIONING_TEST_RABBITMQ_MANAGEMENT";

    private readonly HttpClient _management;

    private BenchServices(string postgres, Uri rabbitMq, HttpClient management)
    {
        PostgresConnectionString = postgres;
        RabbitMqUri = rabbitMq;
        _management = management;
    }

    public string PostgresConnectionString { get; }

    public Uri RabbitMqUri { get; }

    public string RabbitMqUser => Uri.UnescapeDataString(RabbitMqUri.UserInfo.Split(':', 2)[0]);

    public static BenchServices FromEnvironment()
    {
        static string Required(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} is not set: run scripts/bench.sh (it starts the services with scripts/deps.sh and loads .deps/env).");

        var management = new Uri(Required(ManagementVariable));
        var client = new HttpClient { BaseAddress = new UriBuilder(management.Scheme, management.Host, management.Port, "/").Uri, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(management.UserInfo))));
        return new BenchServices(Required(PostgresVariable), new Uri(Required(RabbitMqVariable)), client);
    }

    /// <summary>A fresh database named <paramref name="name"/>, with the worker's migrations applied.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        await ExecuteAsync(PostgresConnectionString, $"CREATE DATABASE \"{name}\"", cancellationToken);
        var connectionString = new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Database = name }.ConnectionString;
        var options = new DbContextOptionsBuilder<ProvisioningDbContext>().UseNpgsql(connectionString).Options;
        await using var db = new ProvisioningDbContext(options);
        await db.Database.MigrateAsync(cancellationToken);
        return connectionString;
    }

    public async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(PostgresConnectionString, $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", CancellationToken.None);
    }

    /// <summary>A fresh virtual host; the AMQP address of it.</summary>
    public async Task<Uri> CreateVirtualHostAsync(string name, CancellationToken cancellationToken)
    {
        var escaped = Uri.EscapeDataString(name);
        using (var created = await _management.PutAsJsonAsync($"api/vhosts/{escaped}", new { description = "benchmark" }, cancellationToken))
        {
            created.EnsureSuccessStatusCode();
        }

        var permissions = new { configure = ".*", write = ".*", read = ".*" };
        using (var granted = await _management.PutAsJsonAsync($"api/permissions/{escaped}/{Uri.EscapeDataString(RabbitMqUser)}", permissions, cancellationToken))
        {
            granted.EnsureSuccessStatusCode();
        }

        return new UriBuilder(RabbitMqUri) { Path = "/" + escaped }.Uri;
    }

    public async Task DeleteVirtualHostAsync(string name)
    {
        using var response = await _management.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(name)}");
    }

    public void Dispose() => _management.Dispose();

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
