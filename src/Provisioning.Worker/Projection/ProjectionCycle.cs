using System.Data;
using Microsoft.Extensions.Options;
using Npgsql;
using Provisioning.Worker.Brokers;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Projection;

/// <summary>
/// One pass of one broker's projection: under that broker's leader lock, read its group's device changes in one short
/// REPEATABLE READ transaction; with no transaction open, write every projected file, reload Mosquitto once and prove
/// that the files are in effect; then record the snapshot read as the broker's checkpoint
/// (<see cref="BrokerCheckpoint"/>), which releases the replies it sees (<see cref="Outbox.ReplyRelease"/>). A crash
/// anywhere before the record leaves the replies waiting, and the next cycle (a full rebuild) writes the same files
/// again: replaying a cycle is harmless.
/// </summary>
public sealed class ProjectionCycle(
    BrokerIdentity broker,
    NpgsqlDataSource database,
    IReadOnlyList<IProjectedFile> files,
    MosquittoReloader reloader,
    IOptions<MosquittoOptions> mosquittoOptions,
    TimeProvider clock)
{
    private readonly MosquittoOptions _mosquitto = mosquittoOptions.Value;
    // A full read is spooled beside the passwd file: same disk, same protection as the hashes it holds.
    private readonly DeviceChangeFeed _feed = new(Path.GetDirectoryName(Path.GetFullPath(mosquittoOptions.Value.PasswdFile))!, broker.Group);

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

    public BrokerIdentity Broker => broker;

    public async Task<CycleOutcome> RunAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var leader = await LeaderLock.TryAcquireAsync(connection, broker.Name, cancellationToken);
        if (leader is null)
        {
            return CycleOutcome.NotLeader; // another instance is mid-cycle; whatever it did not see, the next pass here takes
        }

        var full = _fullRebuild || files.Any(f => f.IsStale);
        var read = await ReadAsync(connection, full, cancellationToken);
        await using var spool = read.Devices;
        if (!full && read.Devices.Count == 0)
        {
            if (read.Rows > 0)
            {
                // Rows already applied came again: the checkpoint moves past them, which may release their replies.
                await BrokerCheckpoint.SaveAsync(connection, broker, read.Snapshot, _devices, cancellationToken);
            }
            else
            {
                await BrokerCheckpoint.HeartbeatAsync(connection, broker, cancellationToken);
            }

            _feed.Advance(read);
            return read.Rows > 0 ? CycleOutcome.Idle with { Busy = true, Recorded = true } : CycleOutcome.Idle;
        }

        var started = clock.GetTimestamp();
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

        var written = clock.GetElapsedTime(started);
        var stall = await reloader.ReloadAsync(probe, proveTopics: aclWritten, cancellationToken);
        await BrokerCheckpoint.SaveAsync(connection, broker, read.Snapshot, _devices, cancellationToken);
        _fullRebuild = false;
        _feed.Advance(read);
        return new CycleOutcome(true, true, full, read.Devices.Count, true, _devices, written, clock.GetElapsedTime(started), stall);
    }

    private async Task<FeedRead> ReadAsync(NpgsqlConnection connection, bool full, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        await using var snapshotCommand = new NpgsqlCommand("SELECT pg_current_snapshot()::text, pg_snapshot_xmin(pg_current_snapshot())::text::bigint", connection);
        string snapshot;
        long snapshotXmin;
        await using (var reader = await snapshotCommand.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            snapshot = reader.GetString(0);
            snapshotXmin = reader.GetInt64(1);
        }

        var read = await _feed.ReadAsync(connection, snapshot, snapshotXmin, full, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return read;
    }
}

/// <summary>
/// What a cycle did: Busy when another pass should follow at once; Recorded when the broker's checkpoint moved (replies
/// may be due); Stall, how long the broker took to reload (from the signal to the proof), zero when it was not reloaded.
/// </summary>
public sealed record CycleOutcome(bool Busy, bool Rewritten, bool FullRead, int ChangedDevices, bool Recorded, int Devices, TimeSpan Written, TimeSpan Elapsed, TimeSpan Stall)
{
    public static readonly CycleOutcome Idle = new(false, false, false, 0, false, 0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    public static readonly CycleOutcome NotLeader = Idle;
}
