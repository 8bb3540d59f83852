using System.Data;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Hosting;
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
    private DeviceLines? _devices;
    private long _appliedXmin;

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
                _devices = null; // rebuild from a full read: the in-memory state may be ahead of the file
                _operatorLines.Forget();
                status.Failed(clock.GetUtcNow(), e.Message);
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
        var fullRead = _devices is null;
        var devices = _devices ?? new DeviceLines();
        var (changedRows, linesChanged) = fullRead
            ? (await LoadAllAsync(connection, devices, cancellationToken), true)
            : await ApplyChangesAsync(connection, devices, _appliedXmin, cancellationToken);

        var awaiting = await ScalarAsync<long>(connection, "SELECT count(*) FROM outbox WHERE awaits_broker", cancellationToken);
        if (!linesChanged && awaiting == 0 && !_operatorLines.IsStale(_mosquitto.PasswdFile))
        {
            _devices = devices;
            _appliedXmin = snapshotXmin;
            await transaction.CommitAsync(cancellationToken);
            return changedRows > 0;
        }

        if (linesChanged || _operatorLines.IsStale(_mosquitto.PasswdFile))
        {
            await RewriteAndReloadAsync(store, devices, cancellationToken);
        }

        var released = await db.Database.ExecuteSqlAsync($"UPDATE outbox SET awaits_broker = false WHERE awaits_broker", cancellationToken);
        var now = clock.GetUtcNow();
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO projection_checkpoint (id, applied_xmin, active_devices, applied_at) VALUES (1, {snapshotXmin}, {devices.Count}, {now})
            ON CONFLICT (id) DO UPDATE SET applied_xmin = excluded.applied_xmin, active_devices = excluded.active_devices, applied_at = excluded.applied_at
            """,
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        _devices = devices;
        _appliedXmin = snapshotXmin;
        status.Applied(now, devices.Count);
        if (released > 0)
        {
            dispatchWakeUp.Notify();
        }

        Log.Applied(logger, changedRows, released, devices.Count, fullRead);
        return true;
    }

    private async Task RewriteAndReloadAsync(PasswdFileStore store, DeviceLines devices, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var probePassword = CredentialGenerator.NewPassword();
        var probeLine = System.Text.Encoding.UTF8.GetBytes(
            $"{_mosquitto.ProbeUsername}:{MosquittoPasswordHash.Create(probePassword, _mosquitto.HashIterations)}\n");

        await using (var fileLock = await store.LockAsync(cancellationToken))
        {
            if (_operatorLines.IsStale(_mosquitto.PasswdFile))
            {
                _operatorLines.Load(await fileLock.ReadAsync(cancellationToken));
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
                    await devices.WriteToAsync(stream, ct);
                },
                cancellationToken);
            _operatorLines.Written(_mosquitto.PasswdFile);
        }

        await reloader.ReloadAsync(probePassword, cancellationToken);
        Log.Rewritten(logger, devices.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static async Task<int> LoadAllAsync(NpgsqlConnection connection, DeviceLines devices, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT username, password_hash FROM devices WHERE status = @active", connection);
        command.Parameters.AddWithValue("active", (int)DeviceStatus.Active);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            SetChecked(devices, reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
            rows++;
        }

        return rows;
    }

    /// <summary>
    /// Rows changed by any transaction that was not yet visible to the previous snapshot: those have an xid at or
    /// above that snapshot's xmin. Some seen before come again; applying them twice is harmless.
    /// </summary>
    private static async Task<(int Rows, bool Changed)> ApplyChangesAsync(NpgsqlConnection connection, DeviceLines devices, long sinceXmin, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT username, status, password_hash FROM devices WHERE changed_xid >= @since", connection);
        command.Parameters.AddWithValue("since", sinceXmin);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = 0;
        var changed = false;
        while (await reader.ReadAsync(cancellationToken))
        {
            rows++;
            var username = reader.GetString(0);
            changed |= reader.GetInt32(1) == (int)DeviceStatus.Active
                ? SetChecked(devices, username, reader.IsDBNull(2) ? null : reader.GetString(2))
                : devices.Remove(username);
        }

        return (rows, changed);
    }

    /// <summary>Only well-formed device lines reach the file: a bad row is reported, never handed to the broker.</summary>
    private static bool SetChecked(DeviceLines devices, string username, string? hash)
    {
        if (hash is null || !MosquittoPasswordHash.IsWellFormed(hash) || !DeviceIdentity.IsDeviceUsername(username))
        {
            throw new InvalidDataException($"Device '{DeviceIdentity.Printable(username)}' is active but its stored hash is not a well-formed Mosquitto hash.");
        }

        return devices.Set(username, hash);
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

        [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "Passwd file rewritten with {Devices} devices and reloaded in {ElapsedMs:0.0} ms")]
        public static partial void Rewritten(ILogger logger, int devices, double elapsedMs);

        [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "Passwd projection failed (attempt {Failures}); retrying in {DelaySeconds:0.0} s; replies wait")]
        public static partial void CycleFailed(ILogger logger, Exception exception, int failures, double delaySeconds);

        [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "Passwd file {PasswdFile}: an operator's line would be refused by the broker: {Problem}")]
        public static partial void OperatorLineProblem(ILogger logger, string passwdFile, string problem);
    }
}
