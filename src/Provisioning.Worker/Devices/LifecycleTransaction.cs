using System.Data;
using Npgsql;
using Provisioning.Contracts;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Secrets;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Devices;

/// <summary>
/// A batch of events in ONE transaction: the inbox drops what was seen before, the devices are loaded and locked, the
/// rules (<see cref="LifecycleRules"/>) decide, the new states and the replies are saved (<see cref="DeviceStore"/>).
/// Four round trips whatever the batch size. A reply's password is never written in clear (<see cref="ReplySecrets"/>).
/// </summary>
internal sealed class LifecycleTransaction(
    LifecycleRules rules, IDeviceTopics topics, int hashIterations, ReplySecrets secrets, Brokers.BrokerFleet fleet, Brokers.TenantPlacements placements, TimeProvider clock)
{
    /// <returns>The outcome of each event, in order.</returns>
    public async Task<LifecycleOutcome[]> ApplyAsync(NpgsqlConnection connection, IReadOnlyList<DeviceEvent> events, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        var store = new DeviceStore(connection, transaction);

        var newToInbox = await store.AddToInboxAsync(events.Select(e => e.InboxKey).Distinct().ToList(), now, cancellationToken);
        var takesEffect = LifecycleRules.FirstDeliveries(events, newToInbox);
        if (!takesEffect.Contains(true))
        {
            await transaction.RollbackAsync(cancellationToken);
            return Enumerable.Repeat(LifecycleOutcome.Duplicate, events.Count).ToArray();
        }

        var effective = events.Where((_, i) => takesEffect[i]).Where(LifecycleRules.IsWellFormed).ToList();
        var devices = await store.CreateAndLockAsync(effective.Select(e => (e.TenantId!, e.DeviceId!)), now, cancellationToken);
        var groups = await placements.GroupsOfAsync(
            connection,
            transaction,
            effective.GroupBy(e => e.TenantId!, StringComparer.Ordinal).Select(g => (g.Key, g.Count(e => e.Kind == DeviceEventKind.Registered))).ToList(),
            cancellationToken);
        var endpoints = groups.ToDictionary(g => g.Key, g => fleet.EndpointOf(g.Value), StringComparer.Ordinal);

        // The time read again once the row locks are held: two batches (two instances) may start in one order and take
        // the locks in the other, and issuedAt/revokedAt must follow the order in which the credentials really changed.
        var later = clock.GetUtcNow();
        now = later > now ? later : now;

        var registrations = effective.Where(e => e.Kind == DeviceEventKind.Registered).ToList();
        var credentials = registrations
            .Zip(NewCredential.CreateMany(registrations.Count, hashIterations))
            .ToDictionary(pair => pair.First.MessageId, pair => pair.Second);
        var result = rules.ApplyInArrivalOrder(events, newToInbox, devices, credentials, topics, now, endpoints);

        var replies = events.Zip(result.Decisions)
            .Where(pair => pair.Second is not null)
            .Select(pair => Reply(pair.First, pair.Second!, pair.First.TenantId is { } tenant ? groups.GetValueOrDefault(tenant) : null, now))
            .ToList();
        await store.SaveAsync(result.ChangedDevices, replies, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return result.Outcomes;
    }

    private OutboxMessage Reply(DeviceEvent cause, LifecycleDecision decision, string? group, DateTimeOffset now)
    {
        var (reply, secret) = decision.Reply is CredentialsIssued issued ? secrets.Conceal(issued, cause.CredentialKey) : (decision.Reply, (byte[]?)null);
        return OutboxRows.Create(reply, cause.MessageId, cause.Reply, OutboxKey(cause.TenantId), OutboxKey(cause.DeviceId), decision.ReplyAwaitsBroker, now, secret, group);
    }

    /// <summary>
    /// The outbox row's device key: replies to one device are sent in order. A valid id is kept as is (Printable leaves it
    /// unchanged); an invalid one is stored escaped and cut short: PostgreSQL refuses NUL in text, and an index entry
    /// cannot hold a 10 MB id (both sent such a rejection to _error; found by the bad-input fault scenario). The reply
    /// keeps the id as received.
    /// </summary>
    private static string OutboxKey(string? id) => id is null ? string.Empty : SafeText.Ascii(id);
}
