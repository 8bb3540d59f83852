using System.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Mosquitto;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Projection;

/// <summary>
/// One pass of the projection: under the leader lock, read the device changes and the replies awaiting the broker in
/// one short REPEATABLE READ transaction; with no transaction open, write every projected file, reload Mosquitto once
/// and prove that the files are in effect; then, in a second short transaction, release exactly the replies that the
/// snapshot saw and move the checkpoint. A crash anywhere before the release leaves the replies waiting, and the next
/// cycle (a full rebuild) writes the same files again: replaying a cycle is harmless.
/// </summary>
public sealed class ProjectionCycle(
    IServiceScopeFactory scopes,
    IReadOnlyList<IProjectedFile> files,
    MosquittoReloader reloader,
    IOptions<MosquittoOptions> mosquittoOptions,
    TimeProvider clock)
{
    private readonly MosquittoOptions _mosquitto = mosquittoOptions.Value;
    // A full read is spooled beside the passwd file: same disk, same protection as the hashes it holds.
    private readonly DeviceChangeFeed _feed = new(Path.GetDirectoryName(Path.GetFullPath(mosquittoOptions.Value.PasswdFile))!);

    /// <summary>True until the files have been written from a full read, and after any failure: they cannot be trusted then.</summary>
    private bool _fullRebuild = true;

    private int _devices;

    public IReadOnlyList<IProjectedFile> Files => files;

    /// <summary>After a failure: the files may be ahead of or behind what this instance believes.</summary>
    public void Distrust()
    {
        _fullRebuild = true;
        foreach (var file in files)
        {
            file.Forget();
        }
    }

    public async Task<CycleOutcome> RunAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ProvisioningDbContext>();
        await db.Database.OpenConnectionAsync(cancellationToken);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await using var leader = await LeaderLock.TryAcquireAsync(connection, cancellationToken);
        if (leader is null)
        {
            return CycleOutcome.NotLeader; // another instance is mid-cycle; whatever it did not see, the next pass here takes
        }

        var full = _fullRebuild || files.Any(f => f.IsStale);
        var (read, awaiting) = await ReadAsync(connection, full, cancellationToken);
        await using var spool = read.Devices;
        if (!full && read.Devices.Count == 0 && awaiting.Count == 0)
        {
            if (read.Rows > 0)
            {
                // Rows already applied came again: the checkpoint still counts them as unconfirmed until it moves past them.
                await ReleaseAsync(connection, read.SnapshotXmin, [], cancellationToken);
            }

            _feed.Advance(read);
            return read.Rows > 0 ? CycleOutcome.Idle with { Busy = true } : CycleOutcome.Idle;
        }

        var rewrite = full || read.Devices.Count > 0;
        var started = clock.GetTimestamp();
        var written = TimeSpan.Zero;
        var stall = TimeSpan.Zero;
        if (rewrite)
        {
            var probe = ProbeCredential.New(_mosquitto.ProbeUsername, _mosquitto.HashIterations);
            var aclWritten = false;
            try
            {
                foreach (var file in files)
                {
                    var write = await file.WriteAsync(read.Devices, probe, leader.ConfirmAsync, cancellationToken);
                    if (ReferenceEquals(file, files[0]))
                    {
                        _devices = write.Devices; // the passwd file has one line per device, whatever the rules
                    }
                    else
                    {
                        aclWritten |= write.Written;
                    }
                }
            }
            catch (ProjectedFileChangedException)
            {
                _fullRebuild = true;
                return CycleOutcome.Idle with { Busy = true };
            }

            written = clock.GetElapsedTime(started);
            stall = await reloader.ReloadAsync(probe, proveTopics: aclWritten, cancellationToken);
        }

        var released = await ReleaseAsync(connection, read.SnapshotXmin, awaiting, cancellationToken);
        _fullRebuild = false;
        _feed.Advance(read);
        return new CycleOutcome(true, rewrite, full, read.Devices.Count, released, _devices, written, rewrite ? clock.GetElapsedTime(started) : TimeSpan.Zero, stall);
    }

    private async Task<(FeedRead Read, IReadOnlyList<long> Awaiting)> ReadAsync(NpgsqlConnection connection, bool full, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        await using var xminCommand = new NpgsqlCommand("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", connection);
        var snapshotXmin = (long)(await xminCommand.ExecuteScalarAsync(cancellationToken))!;
        var read = await _feed.ReadAsync(connection, snapshotXmin, full, cancellationToken);

        try
        {
            // Same snapshot: every reply listed here belongs to a change that the read above returned or an earlier cycle applied.
            var awaiting = await ReplyRelease.AwaitingAsync(connection, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return (read, awaiting);
        }
        catch
        {
            await read.Devices.DisposeAsync(); // a full read's spool file: the caller never receives it to dispose
            throw;
        }
    }

    private async Task<int> ReleaseAsync(NpgsqlConnection connection, long snapshotXmin, IReadOnlyList<long> awaiting, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        var released = await ReplyRelease.ReleaseAsync(connection, awaiting, cancellationToken);
        await ProjectionCheckpoint.SaveAsync(connection, snapshotXmin, _devices, clock.GetUtcNow(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return released;
    }
}

/// <summary>
/// What a cycle did: Busy when another pass should follow at once; Stall, how long the broker took to reload (from
/// the signal to the proof), zero when it was not reloaded.
/// </summary>
public sealed record CycleOutcome(bool Busy, bool Rewritten, bool FullRead, int ChangedDevices, int Released, int Devices, TimeSpan Written, TimeSpan Elapsed, TimeSpan Stall)
{
    public static readonly CycleOutcome Idle = new(false, false, false, 0, 0, 0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    public static readonly CycleOutcome NotLeader = Idle;
}
