using Npgsql;

namespace Provisioning.Worker.Outbox;

/// <summary>
/// Replies that carry credentials (or announce a revocation) are written with <c>awaits_broker</c> set, in the same
/// transaction as the device change; the dispatcher sends only rows without it. The projection releases them once
/// the broker is proven to run with that change (<see cref="Projection.ProjectionCycle"/>).
/// </summary>
public static class ReplyRelease
{
    /// <summary>The ids of the replies awaiting the broker that the caller's snapshot sees.</summary>
    public static async Task<IReadOnlyList<long>> AwaitingAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT id FROM outbox WHERE awaits_broker", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new List<long>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    /// <summary>
    /// Releases exactly <paramref name="ids"/>: the rows one snapshot saw, whose changes the broker now runs with.
    /// Not "every id up to the largest": ids are taken before commit, so a smaller id can commit later, after the
    /// snapshot, with a change the broker has not seen. Releasing a row twice (a replayed cycle) changes nothing.
    /// </summary>
    public static async Task<int> ReleaseAsync(NpgsqlConnection connection, IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return 0;
        }

        await using var command = new NpgsqlCommand("UPDATE outbox SET awaits_broker = false WHERE id = ANY(@ids) AND awaits_broker", connection);
        command.Parameters.AddWithValue("ids", ids.ToArray());
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
