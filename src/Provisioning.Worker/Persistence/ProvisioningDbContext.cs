using Microsoft.EntityFrameworkCore;
using Provisioning.Worker.Consumers;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Inbox;
using Provisioning.Worker.Outbox;

namespace Provisioning.Worker.Persistence;

public sealed class ProvisioningDbContext(DbContextOptions<ProvisioningDbContext> options) : DbContext(options)
{
    public DbSet<Device> Devices => Set<Device>();

    public DbSet<InboxMessage> Inbox => Set<InboxMessage>();

    public DbSet<OutboxMessage> Outbox => Set<OutboxMessage>();

    public DbSet<DeliveryAttempt> DeliveryAttempts => Set<DeliveryAttempt>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Device>(device =>
        {
            device.ToTable("devices");
            device.HasKey(d => new { d.TenantId, d.DeviceId });
            device.Property(d => d.TenantId).HasColumnName("tenant_id").HasMaxLength(DeviceIdentity.MaxIdLength);
            device.Property(d => d.DeviceId).HasColumnName("device_id").HasMaxLength(DeviceIdentity.MaxIdLength);
            device.Property(d => d.Username).HasColumnName("username").HasMaxLength((2 * DeviceIdentity.MaxIdLength) + 1);
            device.Property(d => d.Status).HasColumnName("status");
            device.Property(d => d.PasswordHash).HasColumnName("password_hash");
            device.Property(d => d.RegisteredAt).HasColumnName("registered_at");
            device.Property(d => d.DeletedAt).HasColumnName("deleted_at");
            device.Property(d => d.UpdatedAt).HasColumnName("updated_at");
            device.Property(d => d.ChangedXid).HasColumnName("changed_xid").HasDefaultValue(0L).ValueGeneratedOnAddOrUpdate();
            device.HasIndex(d => d.ChangedXid).HasDatabaseName("ix_devices_changed_xid");
            device.HasIndex(d => d.Username).IsUnique().HasDatabaseName("ux_devices_username");
        });

        modelBuilder.Entity<InboxMessage>(inbox =>
        {
            inbox.ToTable("inbox");
            inbox.HasKey(i => new { i.MessageId, i.Consumer });
            inbox.Property(i => i.MessageId).HasColumnName("message_id");
            inbox.Property(i => i.Consumer).HasColumnName("consumer").HasMaxLength(100);
            inbox.Property(i => i.ReceivedAt).HasColumnName("received_at");
            inbox.HasIndex(i => i.ReceivedAt).HasDatabaseName("ix_inbox_received_at");
        });

        modelBuilder.Entity<OutboxMessage>(outbox =>
        {
            outbox.ToTable("outbox");
            outbox.HasKey(o => o.Id);
            outbox.Property(o => o.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            outbox.Property(o => o.MessageId).HasColumnName("message_id");
            outbox.Property(o => o.MessageType).HasColumnName("message_type").HasMaxLength(100);
            outbox.Property(o => o.Body).HasColumnName("body");
            outbox.Property(o => o.Secret).HasColumnName("secret");
            outbox.Property(o => o.TenantId).HasColumnName("tenant_id");
            outbox.Property(o => o.DeviceId).HasColumnName("device_id");
            outbox.Property(o => o.DestinationAddress).HasColumnName("destination_address");
            outbox.Property(o => o.RequestId).HasColumnName("request_id");
            outbox.Property(o => o.ConversationId).HasColumnName("conversation_id");
            outbox.Property(o => o.CorrelationId).HasColumnName("correlation_id");
            outbox.Property(o => o.InitiatorId).HasColumnName("initiator_id");
            outbox.Property(o => o.AwaitsBroker).HasColumnName("awaits_broker");
            outbox.Property(o => o.BrokerGroup).HasColumnName("broker_group").HasDefaultValue(Brokers.BrokerGroups.Default);
            // The id of the writing transaction, as devices.changed_xid is: the reply is due once every live broker of
            // its group has applied a snapshot that sees it (Outbox/ReplyRelease.cs).
            outbox.Property(o => o.ChangeXid).HasColumnName("change_xid").HasDefaultValueSql("pg_current_xact_id()::text::bigint").ValueGeneratedOnAdd();
            outbox.Property(o => o.CreatedAt).HasColumnName("created_at");
            outbox.Property(o => o.Attempts).HasColumnName("attempts");
            outbox.Property(o => o.NextAttemptAt).HasColumnName("next_attempt_at");
            outbox.Property(o => o.LeaseExpiresAt).HasColumnName("lease_expires_at");
            outbox.Property(o => o.LastError).HasColumnName("last_error");
            outbox.HasIndex(o => o.Id).HasFilter("NOT awaits_broker").HasDatabaseName("ix_outbox_ready");
            outbox.HasIndex(o => o.Id).HasFilter("awaits_broker").HasDatabaseName("ix_outbox_awaiting_broker");
            outbox.HasIndex(o => new { o.TenantId, o.DeviceId, o.Id }).HasDatabaseName("ix_outbox_device");
        });

        modelBuilder.Entity<DeliveryAttempt>(attempt =>
        {
            attempt.ToTable("delivery_attempts");
            attempt.HasKey(a => new { a.MessageId, a.Consumer });
            attempt.Property(a => a.MessageId).HasColumnName("message_id");
            attempt.Property(a => a.Consumer).HasColumnName("consumer").HasMaxLength(100);
            attempt.Property(a => a.Attempts).HasColumnName("attempts");
            attempt.Property(a => a.LastAttemptAt).HasColumnName("last_attempt_at");
        });
    }
}
