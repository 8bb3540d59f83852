namespace Provisioning.Worker.Outbox;

/// <summary>
/// When a reply is due. Replies that carry credentials (or announce a revocation) are written with
/// <c>awaits_broker</c> set, their group and their transaction's id (<see cref="OutboxMessage.ChangeXid"/>), in the
/// transaction of the device change; such a reply is due once every live broker of its group has recorded a
/// checkpoint that sees that transaction (<see cref="Brokers.BrokerCheckpoint"/>). Live: a heartbeat within
/// <c>Brokers:SilenceTimeout</c> and not taken out by an operator. A group with no live broker releases nothing.
/// The rule is the SQL function <c>reply_released</c> (migration BrokerFleet), so that the dispatcher's claim, the
/// health check and the operators' queries apply the same one.
/// </summary>
public static class ReplyRelease
{
    /// <summary>The outbox rows still held for their brokers, at the default silence timeout: for operators' and tests' queries (<c>SELECT count(*) FROM outbox WHERE …</c>).</summary>
    public const string HeldByBrokers = "(awaits_broker AND NOT reply_released(broker_group, change_xid, interval '30 seconds'))";

    /// <summary>
    /// The function's body. Each live broker of the group must see the change; <c>count(*) &gt; 0</c>: with none, nothing
    /// is released. Inlined by PostgreSQL into the query that calls it (a SQL function, STABLE).
    /// </summary>
    public const string FunctionSql =
        """
        CREATE OR REPLACE FUNCTION reply_released(broker_group text, change_xid bigint, silence interval) RETURNS boolean
        LANGUAGE sql STABLE AS $$
            SELECT count(*) > 0 AND coalesce(bool_and(b.applied_snapshot IS NOT NULL AND pg_visible_in_snapshot(change_xid::text::xid8, b.applied_snapshot)), false)
            FROM brokers b
            WHERE b.group_name = broker_group AND NOT b.taken_out AND b.heartbeat_at > now() - silence
        $$;
        """;
}
