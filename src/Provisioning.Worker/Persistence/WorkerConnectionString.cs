using Npgsql;

namespace Provisioning.Worker.Persistence;

/// <summary>The session settings the worker's statements are written for, added to the configured connection string.</summary>
public static class WorkerConnectionString
{
    /// <summary>
    /// Turns PostgreSQL's JIT compilation off unless the connection string sets <c>jit</c> itself. The worker runs
    /// short statements only; a claim over a backlog of 100,000 replies is estimated expensive enough to be compiled,
    /// and took 90 ms with the compilation against 14 ms without (PostgreSQL 15).
    /// </summary>
    public static string For(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.Options?.Contains("jit", StringComparison.OrdinalIgnoreCase) == true)
        {
            return connectionString;
        }

        builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? "-c jit=off" : $"{builder.Options} -c jit=off";
        return builder.ConnectionString;
    }
}
