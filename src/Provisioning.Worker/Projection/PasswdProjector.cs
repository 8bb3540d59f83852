using System.Data;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Hosting;
using Provisioning.Worker.Metrics;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Passwd;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Projection;

/// <summary>
/// Renders the active devices into Mosquitto's passwd file and reloads the broker, coalescing every change that
/// committed meanwhile into one rewrite. Each cycle reads from one REPEATABLE READ snapshot and, after the broker
/// confirmed the file, releases exactly the replies that snapshot saw.
/// </summary>
public sealed partial class PasswdProjector(
    IServiceScopeFactory scopes,
    ProjectionWakeUp wakeUp,
    DispatchWakeUp dispatchWakeUp,
    MosquittoReloader reloader,
    ProjectionStatus status,
    ProvisioningMetrics metrics,
    IOptions<MosquittoOptions> mosquittoOptions,
    IOptions<ProvisioningOptions> provisioningOptions,
    TimeProvider clock,
    ILogger<PasswdProjector> logger) : DrainingBackgroundService
{
    /// <summary>Serialises the projection across worker instances: only one rewrites the file at a time.</summary>
    private const long LeaderLockKey = 0x5072_6F76_5061_7373; // "ProvPass"

    private readonly MosquittoOptions _mosquitto = mosquittoOptions.Value;
    private readonly ProvisioningOptions _provisioning = provisioningOptions.Value;
    private readonly OperatorLines _operatorLines = new(mosquittoOptions.Value.ProbeUsername);

    /// <summary>True until a file has been written from a full read, and after any failure: the file cannot be trusted then.</summary>
    private bool _fullRebuild = true;
    private long _appliedXmin;

    /// <summary>Bytes before the first device line in the file last written (operator lines, probe line).</summary>
    private long _headerLength;

    private int _deviceCount;

    /// <summary>Rows already in the file that a later cycle may read again (changed_xid at or above the applied xmin), with that xid.</summary>
    private Dictionary<string, long> _applied = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var store = new PasswdFileStore(_mosquitto.PasswdFile, _mosquitto.FileMode);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var busy = await RunCycleAsync(store, AbortToken);
                failures = 0;
                if (!busy)
                {
                    await wakeUp.WaitAsync(_provisioning.PollInterval, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                failures++;
                _fullRebuild = true; // the file may be ahead of or behind what this instance believes
                _operatorLines.Forget();
                status.Failed(clock.GetUtcNow(), e.Message);
                metrics.ProjectionFailed();
                var delay = Backoff(failures);
                Log.CycleFailed(logger, e, failures, delay.TotalSeconds);
                await Task.Delay(delay, clock, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>One pass; true when it found work (so the next pass should come at once).</summary>
    private async Task<bool> RunCycleAsync(PasswdFileStore store, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ProvisioningDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();

        if (!await ScalarAsync<bool>(connection, $"SELECT pg_try_advisory_xact_lock({LeaderLockKey})", cancellationToken))
        {
            return false; // another instance is mid-cycle; it releases our replies too, since it reads the same rows
        }

        var snapshotXmin = await ScalarAsync<long>(connection, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", cancellationToken);
        var fullRebuild = _fullRebuild || _operatorLines.IsStale(_mosquitto.PasswdFile);
        var changes = new DeviceLines();
        var applied = new Dictionary<string, long>(StringComparer.Ordinal);
        var changedRows = fullRebuild ? 0 : await ReadChangesAsync(connection, changes, applied, cancellationToken);

        var awaiting = await ScalarAsync<long>(connection, "SELECT count(*) FROM outbox WHERE awaits_broker", cancellationToken);
        if (!fullRebuild && changes.Count == 0 && awaiting == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            Advance(snapshotXmin, applied);
            return changedRows > 0;
        }

        if (fullRebuild || changes.Count > 0)
        {
            await RewriteAndReloadAsync(store, connection, fullRebuild, changes, snapshotXmin, applied, cancellationToken);
        }

        var released = await db.Database.ExecuteSqlAsync($"UPDATE outbox SET awaits_broker = false WHERE awaits_broker", cancellationToken);
        var now = clock.GetUtcNow();
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO projection_checkpoint (id, applied_xmin, active_devices, applied_at) VALUES (1, {snapshotXmin}, {_deviceCount}, {now})
            ON CONFLICT (id) DO UPDATE SET applied_xmin = excluded.applied_xmin, active_devices = excluded.active_devices, applied_at = excluded.applied_at
            """,
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        _fullRebuild = false;
        Advance(snapshotXmin, applied);
        status.Applied(now, _deviceCount);
        if (released > 0)
        {
            dispatchWakeUp.Notify();
        }

        Log.Applied(logger, fullRebuild ? _deviceCount : changes.Count, released, _deviceCount, fullRebuild);
        return true;
    }

    /// <summary>Remembers what the file now holds among the rows the next cycle may read again.</summary>
    private void Advance(long snapshotXmin, Dictionary<string, long> applied)
    {
        foreach (var (username, xid) in _applied)
        {
            if (xid >= snapshotXmin)
            {
                applied.TryAdd(username, xid);
            }
        }

        _applied = applied.Where(a => a.Value >= snapshotXmin).ToDictionary(StringComparer.Ordinal);
        _appliedXmin = snapshotXmin;
    }

    private async Task RewriteAndReloadAsync(
        PasswdFileStore store, NpgsqlConnection connection, bool fullRebuild, DeviceLines changes, long snapshotXmin, Dictionary<string, long> applied, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var probePassword = CredentialGenerator.NewPassword();
        var probeLine = System.Text.Encoding.UTF8.GetBytes(
            $"{_mosquitto.ProbeUsername}:{MosquittoPasswordHash.Create(probePassword, _mosquitto.HashIterations)}\n");

        var devices = 0;
        await using (var fileLock = await store.LockAsync(cancellationToken))
        {
            if (_operatorLines.IsStale(_mosquitto.PasswdFile))
            {
                // Changed by someone else since the check before the lock, or never read: its device lines cannot be trusted either.
                fullRebuild = true;
                await _operatorLines.LoadAsync(_mosquitto.PasswdFile, cancellationToken);
                status.OperatorLineProblems(_operatorLines.Problems);
                foreach (var problem in _operatorLines.Problems)
                {
                    Log.OperatorLineProblem(logger, _mosquitto.PasswdFile, problem);
                }
            }

            if (_operatorLines.Problems.Count > 0)
            {
                // A 2.1 broker exits on a bad file at reload: better to hold the replies than to take the broker down.
                throw new InvalidDataException(
                    $"The passwd file {_mosquitto.PasswdFile} has lines the broker would refuse ({string.Join("; ", _operatorLines.Problems)}); fix them, the worker retries.");
            }

            await fileLock.ReplaceAsync(
                async (stream, ct) =>
                {
                    await stream.WriteAsync(_operatorLines.Content, ct);
                    await stream.WriteAsync(probeLine, ct);
                    if (fullRebuild)
                    {
                        applied.Clear();
                        devices = await WriteAllAsync(connection, stream, snapshotXmin, applied, ct);
                    }
                    else
                    {
                        await using var previous = new FileStream(
                            _mosquitto.PasswdFile,
                            new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite, BufferSize = 0 });
                        devices = await changes.MergeAsync(previous, _headerLength, stream, ct);
                    }
                },
                cancellationToken);
            _operatorLines.Written(_mosquitto.PasswdFile);
            _headerLength = _operatorLines.Content.Length + probeLine.Length;
            _deviceCount = devices;
        }

        var written = Stopwatch.GetElapsedTime(started);
        await reloader.ReloadAsync(probePassword, cancellationToken);
        Log.Rewritten(logger, devices, written.TotalMilliseconds, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        metrics.ProjectionRewritten(Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Every active device from the snapshot, straight into the file; also notes the recent rows a later cycle reads again.</summary>
    private static async Task<int> WriteAllAsync(NpgsqlConnection connection, Stream output, long snapshotXmin, Dictionary<string, long> applied, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT username, status, password_hash, changed_xid FROM devices WHERE status = @active OR changed_xid >= @since", connection);
        command.Parameters.AddWithValue("active", (int)DeviceStatus.Active);
        command.Parameters.AddWithValue("since", snapshotXmin);
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        var buffer = new MemoryStream(1 << 16);
        var rows = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var username = reader.GetString(0);
            var active = reader.GetInt32(1) == (int)DeviceStatus.Active;
            var hash = reader.IsDBNull(2) ? null : reader.GetString(2);
            var xid = reader.GetInt64(3);
            if (xid >= snapshotXmin)
            {
                applied[username] = xid;
            }

            if (!active)
            {
                continue;
            }

            CheckLine(username, hash);
            buffer.Write(System.Text.Encoding.UTF8.GetBytes($"{username}:{hash}\n"));
            rows++;
            if (buffer.Length >= 1 << 16)
            {
                await output.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);
                buffer.SetLength(0);
            }
        }

        await output.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);
        return rows;
    }

    /// <summary>
    /// Rows changed by any transaction that was not yet visible to the previous snapshot: those have an xid at or
    /// above that snapshot's xmin. Some seen before come again: those already in the file (same row, same xid) are no change.
    /// </summary>
    private async Task<int> ReadChangesAsync(NpgsqlConnection connection, DeviceLines changes, Dictionary<string, long> applied, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT username, status, password_hash, changed_xid FROM devices WHERE changed_xid >= @since", connection);
        command.Parameters.AddWithValue("since", _appliedXmin);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            rows++;
            var username = reader.GetString(0);
            var xid = reader.GetInt64(3);
            applied[username] = xid;
            if (_applied.TryGetValue(username, out var seen) && seen == xid)
            {
                continue;
            }

            if (reader.GetInt32(1) == (int)DeviceStatus.Active)
            {
                var hash = reader.IsDBNull(2) ? null : reader.GetString(2);
                CheckLine(username, hash);
                changes.Set(username, hash!);
            }
            else
            {
                changes.Remove(username);
            }
        }

        return rows;
    }

    /// <summary>Only well-formed device lines reach the file: a bad row is reported, never handed to the broker.</summary>
    private static void CheckLine(string username, string? hash)
    {
        if (hash is null || !MosquittoPasswordHash.IsWellFormed(hash) || !DeviceIdentity.IsDeviceUsername(username))
        {
            throw new InvalidDataException($"Device '{DeviceIdentity.Printable(username)}' is active but its stored hash is not a well-formed Mosquitto hash.");
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private TimeSpan Backoff(int failures) =>
        TimeSpan.FromMilliseconds(Math.Min(_provisioning.MaxBackoff.TotalMilliseconds, 200 * Math.Pow(2, Math.Min(failures - 1, 16))));

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Passwd projection applied {ChangedRows} device changes, released {Released} replies; {Devices} devices in the file (full read: {FullRead})")]
        public static partial void Applied(ILogger logger, int changedRows, int released, int devices, bool fullRead);

        [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "Passwd file rewritten with {Devices} devices in {WrittenMs:0.0} ms and reloaded in {ElapsedMs:0.0} ms")]
        public static partial void Rewritten(ILogger logger, int devices, double writtenMs, double elapsedMs);

        [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "Passwd projection failed (attempt {Failures}); retrying in {DelaySeconds:0.0} s; replies wait")]
        public static partial void CycleFailed(ILogger logger, Exception exception, int failures, double delaySeconds);

        [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "Passwd file {PasswdFile}: an operator's line would be refused by the broker: {Problem}")]
        public static partial void OperatorLineProblem(ILogger logger, string passwdFile, string problem);
    }
}
