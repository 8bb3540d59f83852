using Npgsql;
using NpgsqlTypes;
using Provisioning.Worker.Persistence;

namespace Provisioning.Worker.Outbox;

/// <summary>The outbox's INSERT, run in the event's transaction (set-based: one statement whatever the number of replies).</summary>
internal static class OutboxSql
{
    public static NpgsqlBatchCommand Add(IReadOnlyList<OutboxMessage> replies)
    {
        var outbox = new UnnestedRows<OutboxMessage>(replies)
            .Column("message_id", NpgsqlDbType.Uuid, o => o.MessageId)
            .Column("message_type", NpgsqlDbType.Text, o => o.MessageType)
            .Column("body", NpgsqlDbType.Text, o => o.Body)
            .Column("secret", NpgsqlDbType.Bytea, o => o.Secret)
            .Column("tenant_id", NpgsqlDbType.Text, o => o.TenantId)
            .Column("device_id", NpgsqlDbType.Text, o => o.DeviceId)
            .Column("destination_address", NpgsqlDbType.Text, o => o.DestinationAddress)
            .Column("request_id", NpgsqlDbType.Uuid, o => o.RequestId)
            .Column("conversation_id", NpgsqlDbType.Uuid, o => o.ConversationId)
            .Column("correlation_id", NpgsqlDbType.Uuid, o => o.CorrelationId)
            .Column("initiator_id", NpgsqlDbType.Uuid, o => o.InitiatorId)
            .Column("awaits_broker", NpgsqlDbType.Boolean, o => o.AwaitsBroker)
            .Column("broker_group", NpgsqlDbType.Text, o => o.BrokerGroup)
            .Column("created_at", NpgsqlDbType.TimestampTz, o => o.CreatedAt)
            .Column("attempts", NpgsqlDbType.Integer, o => o.Attempts);

        // In list order: the outbox id is the order in which replies to one device are sent. Due at once by
        // PostgreSQL's clock, which every instance's dispatcher compares it with (OutboxDispatcher.ClaimAsync).
        return outbox.Command(
            $"INSERT INTO outbox ({outbox.Names}, next_attempt_at) SELECT {outbox.Names}, statement_timestamp() FROM {outbox.Source} ORDER BY n");
    }
}
