using System.Data;
using Npgsql;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Mosquitto;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Projection;

/// <summary>
/// The device changes the projected files have not taken yet, read by <c>changed_xid</c> (stamped by a trigger with
/// the writing transaction's id, see the InitialSchema migration). A row changed by a transaction that the last
/// applied snapshot could not see has an xid at or above that snapshot's xmin; some rows seen before come again,
/// and those already in the files (same row, same xid) are no change. Only the devices of the broker's group: those
/// whose tenant is placed there (Brokers/TenantPlacement.cs; a tenant with no placement row is in the default group).
/// </summary>
public sealed class DeviceChangeFeed(string spoolDirectory, string group)
{
    private long _appliedXmin;

    /// <summary>Rows already in the files that a later read may return again (changed_xid at or above the applied xmin), with that xid.</summary>
    private Dictionary<string, long> _applied = new(StringComparer.Ordinal);

    /// <summary>
    /// Reads, in the caller's REPEATABLE READ transaction whose snapshot is <paramref name="snapshot"/> (xmin
    /// <paramref name="snapshotXmin"/>), every active device (<paramref name="full"/>) or the changes since the last applied snapshot.
    /// </summary>
    public async Task<FeedRead> ReadAsync(NpgsqlConnection connection, string snapshot, long snapshotXmin, bool full, CancellationToken cancellationToken)
    {
        var since = full ? snapshotXmin : _appliedXmin;
        var changes = full ? DeviceChanges.Everything(spoolDirectory) : DeviceChanges.Since();
        try
        {
            var seen = new Dictionary<string, long>(StringComparer.Ordinal);
            await using var command = new NpgsqlCommand(
                $"""
                SELECT d.username, d.status, d.password_hash, d.changed_xid
                FROM devices d LEFT JOIN tenant_placements p ON p.tenant_id = d.tenant_id
                WHERE ({(full ? "d.status = @active OR d.changed_xid >= @since" : "d.changed_xid >= @since")})
                  AND coalesce(p.group_name, @defaultGroup) = @group
                """,
                connection);
            command.Parameters.AddWithValue("active", (int)DeviceStatus.Active);
            command.Parameters.AddWithValue("since", since);
            command.Parameters.AddWithValue("group", group);
            command.Parameters.AddWithValue("defaultGroup", Brokers.BrokerGroups.Default);
            await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
            var rows = 0;
            while (await reader.ReadAsync(cancellationToken))
            {
                rows++;
                var username = reader.GetString(0);
                var active = reader.GetInt32(1) == (int)DeviceStatus.Active;
                var hash = reader.IsDBNull(2) ? null : reader.GetString(2);
                var xid = reader.GetInt64(3);
                if (xid >= since)
                {
                    seen[username] = xid;
                }

                if (!full && _applied.TryGetValue(username, out var applied) && applied == xid)
                {
                    continue;
                }

                if (active)
                {
                    CheckRow(username, hash);
                    await changes.ActiveAsync(username, hash!, cancellationToken);
                }
                else
                {
                    changes.Inactive(username);
                }
            }

            return new FeedRead(snapshot, snapshotXmin, changes, seen, rows);
        }
        catch
        {
            await changes.DisposeAsync();
            throw;
        }
    }

    /// <summary>The files now hold what <paramref name="read"/> returned: later reads start from its snapshot.</summary>
    public void Advance(FeedRead read)
    {
        var applied = new Dictionary<string, long>(read.Seen, StringComparer.Ordinal);
        foreach (var (username, xid) in _applied)
        {
            if (xid >= read.SnapshotXmin)
            {
                applied.TryAdd(username, xid);
            }
        }

        _applied = applied.Where(a => a.Value >= read.SnapshotXmin).ToDictionary(StringComparer.Ordinal);
        _appliedXmin = read.SnapshotXmin;
    }

    /// <summary>Only well-formed device rows reach the files: a bad row is reported, never handed to the broker.</summary>
    private static void CheckRow(string username, string? hash)
    {
        if (hash is null || !MosquittoPasswordHash.IsWellFormed(hash) || !DeviceIdentity.IsDeviceUsername(username))
        {
            throw new InvalidDataException($"Device '{SafeText.Ascii(username)}' is active but its stored hash is not a well-formed Mosquitto hash.");
        }
    }
}

/// <summary>One read of the feed: the snapshot (pg_snapshot text) and its xmin, the devices, the rows seen at or above the read's lower xid bound, how many rows came.</summary>
public sealed record FeedRead(string Snapshot, long SnapshotXmin, DeviceChanges Devices, IReadOnlyDictionary<string, long> Seen, int Rows);
