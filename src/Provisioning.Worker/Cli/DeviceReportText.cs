using System.Globalization;
using System.Text;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Cli;

/// <summary>The text form of <c>devices show</c> and <c>devices list</c>: aligned fields, UTC times, one fact per line.</summary>
public static class DeviceReportText
{
    public static string Show(DeviceReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        Field(text, "device", $"{report.TenantId}/{report.DeviceId}");
        Field(text, "username", report.Username);
        Field(text, "status", report.Status);
        Field(text, "registered", $"{DevicesCommand.Time(report.RegisteredAt)}   (occurredAt of the latest accepted registration)");
        Field(text, "deleted", $"{DevicesCommand.Time(report.DeletedAt)}   (occurredAt of the latest deletion)");
        Field(text, "updated", DevicesCommand.Time(report.UpdatedAt));
        Field(text, "credential", report.CredentialIssuedAt is { } issued ? $"issued {DevicesCommand.Time(issued)}" : "none (the device is deleted)");
        Field(text, "topics", report.Topics.Count == 0 ? "[]" : string.Join(", ", report.Topics.Select(t => $"{t.Access} {t.Filter}")));
        Field(text, "broker", Broker(report.Broker, report.Status));
        Field(text, "replies", report.PendingReplies.Count == 0 ? "none pending" : $"{report.PendingReplies.Count} pending");
        foreach (var reply in report.PendingReplies)
        {
            text.Append(CultureInfo.InvariantCulture, $"  #{reply.Id} {reply.Type}, created {DevicesCommand.Time(reply.CreatedAt)}: {Waiting(reply)}\n");
        }

        return text.ToString();
    }

    public static string List(IReadOnlyList<DeviceSummary> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var width = Math.Max("TENANT/DEVICE".Length, devices.Count == 0 ? 0 : devices.Max(d => d.TenantId.Length + 1 + d.DeviceId.Length));
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{"TENANT/DEVICE".PadRight(width)}  STATUS   UPDATED                   BROKER   REPLIES\n");
        foreach (var d in devices)
        {
            text.Append(CultureInfo.InvariantCulture, $"{$"{d.TenantId}/{d.DeviceId}".PadRight(width)}  {d.Status,-7}  {DevicesCommand.Time(d.UpdatedAt),-24}  {d.Broker,-7}  {d.PendingReplies}\n");
        }

        return text.ToString();
    }

    private static string Broker(BrokerView broker, string status)
    {
        var change = status == "active" ? "its credential" : "its removal";
        return broker.State switch
        {
            BrokerView.Applied => $"applied: the broker runs with {change} (change xid {broker.ChangedXid} < checkpoint xmin {broker.AppliedXmin}, confirmed {DevicesCommand.Time(broker.CheckpointAt)})",
            BrokerView.Pending => $"pending: the broker has not yet confirmed {change} (change xid {broker.ChangedXid} >= checkpoint xmin {broker.AppliedXmin}, last confirmed {DevicesCommand.Time(broker.CheckpointAt)})",
            _ => $"unknown: no projection checkpoint in the database (the worker has not completed a passwd cycle on it); change xid {broker.ChangedXid}",
        };
    }

    private static string Waiting(ReplyView reply)
    {
        if (reply.WaitingFor == ReplyView.Broker)
        {
            return "waiting for the broker (released once the passwd projection has applied the change)";
        }

        var text = $"waiting for RabbitMQ, {reply.Attempts} attempt{(reply.Attempts == 1 ? string.Empty : "s")} so far, next at {DevicesCommand.Time(reply.NextAttemptAt)}";
        return reply.LastError is { Length: > 0 } error ? $"{text}, last error: {SafeText.Unicode(error, 300)}" : text;
    }

    private static void Field(StringBuilder text, string name, string value) => text.Append(CultureInfo.InvariantCulture, $"{name,-12}{value}\n");
}
