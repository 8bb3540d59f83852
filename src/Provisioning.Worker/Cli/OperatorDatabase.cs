using System.Data;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Health;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Cli;

/// <summary>
/// The worker's database as the operator commands read it: through the worker's own mapping
/// (<see cref="ProvisioningDbContext"/>), read-only, each read in one snapshot and bounded by a timeout, every
/// failure turned into a <see cref="DatabaseUnavailableException"/> that names the server (never the connection string).
/// </summary>
internal sealed class OperatorDatabase : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly ProvisioningDbContext _db;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _clock;

    private OperatorDatabase(ProvisioningDbContext db, string server, TimeSpan timeout, TimeProvider clock)
    {
        _db = db;
        Server = server;
        _timeout = timeout;
        _clock = clock;
    }

    /// <summary>"PostgreSQL at host:port (database name)".</summary>
    public string Server { get; }

    public static OperatorDatabase Open(DatabaseOptions options, string applicationName, TimeSpan timeout, TimeProvider clock)
    {
        var seconds = (int)Math.Ceiling(timeout.TotalSeconds);
        var builder = new NpgsqlConnectionStringBuilder(WorkerConnectionString.For(options.ConnectionString))
        {
            ApplicationName = applicationName,
            Timeout = seconds,
            CommandTimeout = seconds,
            Pooling = false,
        };
        var db = new ProvisioningDbContext(new DbContextOptionsBuilder<ProvisioningDbContext>()
            .UseNpgsql(builder.ConnectionString)
            .UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking)
            .Options);
        return new OperatorDatabase(db, $"PostgreSQL at {builder.Host}:{builder.Port} (database {builder.Database})", timeout, clock);
    }

    /// <summary>Runs <paramref name="read"/> in one read-only REPEATABLE READ transaction: device, checkpoint and outbox seen at one instant.</summary>
    /// <exception cref="DatabaseUnavailableException">unreachable, refused, no worker schema, or no answer within the timeout.</exception>
    public Task<T> ReadAsync<T>(Func<ProvisioningDbContext, CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        RunAsync(read, readOnly: true, cancellationToken);

    /// <summary>Runs <paramref name="write"/> in one REPEATABLE READ transaction (<c>brokers out|in</c>); failures as <see cref="ReadAsync{T}"/>.</summary>
    public Task<T> WriteAsync<T>(Func<ProvisioningDbContext, CancellationToken, Task<T>> write, CancellationToken cancellationToken) =>
        RunAsync(write, readOnly: false, cancellationToken);

    private async Task<T> RunAsync<T>(Func<ProvisioningDbContext, CancellationToken, Task<T>> work, bool readOnly, CancellationToken cancellationToken)
    {
        try
        {
            await ConnectAsync(cancellationToken);
            await using var transaction = await _db.Database.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
            if (readOnly)
            {
                await _db.Database.ExecuteSqlRawAsync("SET TRANSACTION READ ONLY", cancellationToken);
            }

            var result = await work(_db, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException && Is<PostgresException>(e) is { SqlState: PostgresErrorCodes.UndefinedTable })
        {
            throw new DatabaseUnavailableException($"{Server} has no worker schema ({FailureText.Describe(e)}): is this the worker's database? The worker creates its tables when it starts.", e);
        }
        catch (Exception e) when (e is not OperationCanceledException && IsDatabaseFailure(e))
        {
            throw new DatabaseUnavailableException($"{Server} cannot be used: {FailureText.Describe(e)}", e);
        }
    }

    /// <summary>
    /// Opens the connection once, within the timeout. Only the server's part is timed: the model is built first (CPU work
    /// of this process, seconds on a loaded machine), and each statement after the connect is bounded by the connection
    /// string's CommandTimeout, which counts the wait for the server only.
    /// </summary>
    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (_db.Database.GetDbConnection().State == ConnectionState.Open)
        {
            return;
        }

        _ = _db.Model;
        using var timeout = new CancellationTokenSource(_timeout, _clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _db.Database.OpenConnectionAsync(linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new DatabaseUnavailableException($"{Server} did not answer within {_timeout.TotalSeconds:0.#} s (--timeout).");
        }
    }

    public ValueTask DisposeAsync() => _db.DisposeAsync();

    private static bool IsDatabaseFailure(Exception e) =>
        Is<NpgsqlException>(e) is not null || Is<SocketException>(e) is not null || Is<TimeoutException>(e) is not null;

    private static TException? Is<TException>(Exception e)
        where TException : Exception
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is TException match)
            {
                return match;
            }
        }

        return null;
    }
}

/// <summary>The database cannot answer; the message names the server and the reason.</summary>
internal sealed class DatabaseUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
