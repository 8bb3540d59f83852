using Provisioning.Contracts;
using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Cli;

/// <summary>A device row as the operator commands read it: never its hash.</summary>
public sealed record DeviceRecord(
    string TenantId,
    string DeviceId,
    string Username,
    DeviceStatus Status,
    DateTimeOffset? RegisteredAt,
    DateTimeOffset? DeletedAt,
    DateTimeOffset UpdatedAt,
    long ChangedXid);

/// <summary>A broker's checkpoint (Brokers/BrokerCheckpoint.cs), or the least of a group's: every change below <see cref="AppliedXmin"/> is in the files the broker confirmed.</summary>
public sealed record CheckpointRecord(long AppliedXmin, int ActiveDevices, DateTimeOffset AppliedAt);

/// <summary>An undelivered reply of the outbox: never its body nor its encrypted password.</summary>
public sealed record PendingReplyRecord(
    long Id,
    string MessageType,
    DateTimeOffset CreatedAt,
    bool AwaitsBroker,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    string? LastError);

/// <summary>Whether the broker runs with the device's latest change: <c>applied</c>, <c>pending</c> or <c>unknown</c> (no checkpoint yet).</summary>
public sealed record BrokerView(string State, long ChangedXid, long? AppliedXmin, DateTimeOffset? CheckpointAt)
{
    public const string Applied = "applied";
    public const string Pending = "pending";
    public const string Unknown = "unknown";

    /// <summary>
    /// A change is in the file the broker confirmed when its transaction id is below the xmin of the snapshot that
    /// file was rendered from: every transaction below a snapshot's xmin had finished when it was taken
    /// (Projection/ProjectionCycle.cs writes the checkpoint once the broker confirmed the file).
    /// </summary>
    public static BrokerView Of(long changedXid, CheckpointRecord? checkpoint) =>
        checkpoint is null
            ? new BrokerView(Unknown, changedXid, null, null)
            : new BrokerView(changedXid < checkpoint.AppliedXmin ? Applied : Pending, changedXid, checkpoint.AppliedXmin, checkpoint.AppliedAt);
}

/// <summary>A pending reply and what it waits for: <c>broker</c> (the passwd projection) or <c>rabbitmq</c> (the dispatcher).</summary>
public sealed record ReplyView(long Id, string Type, DateTimeOffset CreatedAt, string WaitingFor, int Attempts, DateTimeOffset NextAttemptAt, string? LastError)
{
    public const string Broker = "broker";
    public const string RabbitMq = "rabbitmq";

    public static ReplyView Of(PendingReplyRecord reply) => new(
        reply.Id,
        reply.MessageType,
        reply.CreatedAt,
        reply.AwaitsBroker ? Broker : RabbitMq,
        reply.Attempts,
        reply.NextAttemptAt,
        reply.LastError);
}

/// <summary>Everything <c>devices show</c> says about one device; serialised as is by <c>--json</c>.</summary>
public sealed record DeviceReport(
    string TenantId,
    string DeviceId,
    string Username,
    string Status,
    DateTimeOffset? RegisteredAt,
    DateTimeOffset? DeletedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? CredentialIssuedAt,
    IReadOnlyList<TopicPermission> Topics,
    BrokerView Broker,
    IReadOnlyList<ReplyView> PendingReplies)
{
    public static DeviceReport Of(DeviceRecord device, CheckpointRecord? checkpoint, IReadOnlyList<PendingReplyRecord> replies, IReadOnlyList<TopicPermission> topics) => new(
        device.TenantId,
        device.DeviceId,
        device.Username,
        StatusName(device.Status),
        device.RegisteredAt,
        device.DeletedAt,
        device.UpdatedAt,
        IssueTimeOf(device),
        topics,
        BrokerView.Of(device.ChangedXid, checkpoint),
        replies.Select(ReplyView.Of).ToList());

    /// <summary>
    /// The schema keeps no issue time of its own. Every change of a device row issues or revokes its credential
    /// (Devices/LifecycleTransaction.cs writes <c>updated_at</c> only then; stale, duplicate and rejected events leave the row alone),
    /// so an active device's credential was issued at <c>updated_at</c>; a deleted device has none.
    /// </summary>
    public static DateTimeOffset? IssueTimeOf(DeviceRecord device) => device.Status == DeviceStatus.Active ? device.UpdatedAt : null;

    public static string StatusName(DeviceStatus status) => status == DeviceStatus.Active ? "active" : "deleted";
}

/// <summary>One line of <c>devices list</c>; serialised as is by <c>--json</c>.</summary>
public sealed record DeviceSummary(
    string TenantId,
    string DeviceId,
    string Username,
    string Status,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? CredentialIssuedAt,
    string Broker,
    int PendingReplies)
{
    public static DeviceSummary Of(DeviceRecord device, CheckpointRecord? checkpoint, int pendingReplies) => new(
        device.TenantId,
        device.DeviceId,
        device.Username,
        DeviceReport.StatusName(device.Status),
        device.UpdatedAt,
        DeviceReport.IssueTimeOf(device),
        BrokerView.Of(device.ChangedXid, checkpoint).State,
        pendingReplies);
}
