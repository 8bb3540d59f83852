using Provisioning.Worker.Cli;
using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Tests.Cli;

public sealed class DeviceReportTests
{
    private static readonly DateTimeOffset _t = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private static DeviceRecord Device(DeviceStatus status, long changedXid = 500) =>
        new("acme", "pump-7", "acme.pump-7", status, _t, null, _t.AddMinutes(5), changedXid);

    [Theory]
    [InlineData(499L, BrokerView.Applied)]
    [InlineData(500L, BrokerView.Pending)]
    [InlineData(501L, BrokerView.Pending)]
    public void The_broker_has_applied_a_change_when_its_xid_is_below_the_checkpoint_xmin(long changedXid, string expected) =>
        Assert.Equal(expected, BrokerView.Of(changedXid, new CheckpointRecord(500, 1, _t)).State);

    [Fact]
    public void Without_a_checkpoint_the_broker_state_is_unknown() =>
        Assert.Equal(BrokerView.Unknown, BrokerView.Of(1, null).State);

    [Fact]
    public void An_active_device_credential_was_issued_at_its_last_change_a_deleted_one_has_none()
    {
        Assert.Equal(_t.AddMinutes(5), DeviceReport.Of(Device(DeviceStatus.Active), null, [], []).CredentialIssuedAt);
        Assert.Null(DeviceReport.Of(Device(DeviceStatus.Deleted), null, [], []).CredentialIssuedAt);
    }

    [Fact]
    public void Each_reply_says_what_it_waits_for()
    {
        PendingReplyRecord[] replies =
        [
            new(1, "CredentialsIssued", _t, AwaitsBroker: true, 0, _t, null),
            new(2, "CredentialsRevoked", _t, AwaitsBroker: false, 3, _t.AddSeconds(8), "connection refused\nforged line"),
        ];

        var report = DeviceReport.Of(Device(DeviceStatus.Active), new CheckpointRecord(400, 1, _t), replies, []);
        var text = DeviceReportText.Show(report);

        Assert.Equal([ReplyView.Broker, ReplyView.RabbitMq], report.PendingReplies.Select(r => r.WaitingFor));
        Assert.Contains("#1 CredentialsIssued, created 2026-11-23T10:00:00.000Z: waiting for the broker", text, StringComparison.Ordinal);
        Assert.Contains("#2 CredentialsRevoked, created 2026-11-23T10:00:00.000Z: waiting for RabbitMQ, 3 attempts so far, next at 2026-11-23T10:00:08.000Z, last error: connection refused\\u000Aforged line", text, StringComparison.Ordinal);
        Assert.Contains("broker      pending:", text, StringComparison.Ordinal);
    }
}
