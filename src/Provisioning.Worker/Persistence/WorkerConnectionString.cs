using System.Data.Common;
using Npgsql;

namespace Provisioning.Worker.Persistence;

/// <summary>The session settings the worker's statements are written for, added to the configured connection string.</summary>
public static class WorkerConnectionString
{
    /// <summary>Seconds to open a connection, unless the connection string sets <c>Timeout</c> (Npgsql's default is 15).</summary>
    public const int ConnectTimeoutSeconds = 5;

    /// <summary>
    /// Adds to the configured connection string, leaving every setting it makes itself alone:
    /// <list type="bullet">
    /// <item>JIT compilation off. The worker runs short statements only; a claim over a backlog of 100,000 replies is
    /// estimated expensive enough to be compiled, and took 90 ms with the compilation against 14 ms without (PostgreSQL 15).</item>
    /// <item><c>Timeout</c> <see cref="ConnectTimeoutSeconds"/> s. It bounds more than the connect: when a statement
    /// outlives its <c>Command Timeout</c>, Npgsql first asks the server to cancel it over a new connection and waits
    /// for that within this timeout, so against a server that answers nothing (the PostgreSQL black-hole fault
    /// scenario) a statement failed after its command timeout plus 15 s or more — 60 s with the default 30 s command
    /// timeout. Every consumer waits behind the one batch in flight (<see cref="Devices.GroupCommit"/>), so that
    /// wait is paid by every message, on every retry: the scenario's messages were not dead-lettered within 45 s
    /// (3 attempts), with 5 s they were after 35 s.</item>
    /// </list>
    /// </summary>
    public static string For(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString }; // keys as written, case-insensitive
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.Options?.Contains("jit", StringComparison.OrdinalIgnoreCase) != true)
        {
            builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? "-c jit=off" : $"{builder.Options} -c jit=off";
        }

        if (!given.ContainsKey("Timeout"))
        {
            builder.Timeout = ConnectTimeoutSeconds;
        }

        return builder.ConnectionString;
    }
}
