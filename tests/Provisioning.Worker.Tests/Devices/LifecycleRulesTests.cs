using Provisioning.Contracts;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Outbox;

namespace Provisioning.Worker.Tests.Devices;

public class LifecycleRulesTests
{
    private const string Tenant = "acme";
    private const string DeviceId = "sensor-1";

    private static readonly DateTimeOffset _t = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset _now = _t.AddHours(1);
    private static readonly LifecycleRules _rules = new("broker.example", 8883);
    private static readonly ReplyRoute _noReplyRoute = new(null, null, null, null);

    [Fact]
    public void A_registration_of_a_new_device_activates_it_and_issues_its_credential_once_the_broker_has_it()
    {
        // Given
        var registration = Registration(_t);

        // When
        var decision = _rules.Apply(null, registration, Credential("pw-1"), [], _now);

        // Then
        Assert.Equal(LifecycleOutcome.Issued, decision.Outcome);
        Assert.Equal(Device.Unknown(Tenant, DeviceId) with { Status = DeviceStatus.Active, PasswordHash = Hash("pw-1"), RegisteredAt = _t, UpdatedAt = _now }, decision.NewState);
        var issued = Assert.IsType<CredentialsIssued>(decision.Reply);
        Assert.Equal((Tenant, DeviceId, "acme/sensor-1", "pw-1"), (issued.TenantId, issued.DeviceId, issued.Username, issued.Password));
        Assert.Equal(("broker.example", 8883, _now), (issued.BrokerHost, issued.BrokerPort, issued.IssuedAt));
        Assert.True(decision.ReplyAwaitsBroker);
    }

    [Fact]
    public void A_registration_of_an_active_device_rotates_its_credential_with_a_new_password_and_a_new_reply()
    {
        // Given
        var active = ActiveDevice(registeredAt: _t, password: "old");

        // When
        var decision = _rules.Apply(active, Registration(_t.AddMinutes(1)), Credential("new"), [], _now);

        // Then
        Assert.Equal(LifecycleOutcome.Issued, decision.Outcome);
        Assert.Equal(Hash("new"), decision.NewState?.PasswordHash);
        Assert.Equal(_t.AddMinutes(1), decision.NewState?.RegisteredAt);
        Assert.Equal("new", Assert.IsType<CredentialsIssued>(decision.Reply).Password);
        Assert.True(decision.ReplyAwaitsBroker);
    }

    [Fact]
    public void The_issued_credential_carries_the_topic_permissions_of_the_device()
    {
        // Given
        IReadOnlyList<TopicPermission> topics = [new TopicPermission { Filter = "devices/acme/sensor-1/#", Access = TopicAccess.ReadWrite }];

        // When
        var decision = _rules.Apply(null, Registration(_t), Credential("pw-1"), topics, _now);

        // Then
        Assert.Equal(topics, Assert.IsType<CredentialsIssued>(decision.Reply).Topics);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    public void A_registration_that_occurred_before_or_at_the_deletion_is_stale_and_changes_nothing(int secondsAfterDeletion)
    {
        // Given
        var deleted = DeletedDevice(deletedAt: _t);

        // When
        var decision = _rules.Apply(deleted, Registration(_t.AddSeconds(secondsAfterDeletion)), Credential("pw-1"), [], _now);

        // Then
        AssertRejected(decision, RejectionCodes.Stale);
    }

    [Fact]
    public void A_registration_that_occurred_after_the_deletion_brings_the_device_back()
    {
        // Given
        var deleted = DeletedDevice(deletedAt: _t);

        // When
        var decision = _rules.Apply(deleted, Registration(_t.AddTicks(1)), Credential("pw-1"), [], _now);

        // Then
        Assert.Equal(LifecycleOutcome.Issued, decision.Outcome);
        Assert.Equal(DeviceStatus.Active, decision.NewState?.Status);
        Assert.Equal(_t, decision.NewState?.DeletedAt);
    }

    [Fact]
    public void A_deletion_of_an_unknown_device_succeeds_and_is_remembered_so_a_late_older_registration_is_stale()
    {
        // Given
        var deletion = Deletion(_t);

        // When
        var deleted = _rules.Apply(null, deletion, null, [], _now);
        var lateRegistration = _rules.Apply(deleted.NewState, Registration(_t.AddSeconds(-1)), Credential("pw-1"), [], _now);

        // Then
        Assert.Equal(LifecycleOutcome.Revoked, deleted.Outcome);
        Assert.Equal(Device.Unknown(Tenant, DeviceId) with { DeletedAt = _t, UpdatedAt = _now }, deleted.NewState);
        var revoked = Assert.IsType<CredentialsRevoked>(deleted.Reply);
        Assert.Equal(("acme/sensor-1", _now), (revoked.Username, revoked.RevokedAt));
        Assert.True(deleted.ReplyAwaitsBroker);
        AssertRejected(lateRegistration, RejectionCodes.Stale);
    }

    [Fact]
    public void A_deletion_of_an_active_device_revokes_its_credential()
    {
        // Given
        var active = ActiveDevice(registeredAt: _t, password: "pw-1");

        // When
        var decision = _rules.Apply(active, Deletion(_t.AddSeconds(1)), null, [], _now);

        // Then
        Assert.Equal(LifecycleOutcome.Revoked, decision.Outcome);
        Assert.Equal(active with { Status = DeviceStatus.Deleted, PasswordHash = null, DeletedAt = _t.AddSeconds(1), UpdatedAt = _now }, decision.NewState);
        Assert.True(decision.ReplyAwaitsBroker);
    }

    [Fact]
    public void A_deletion_that_occurred_before_the_current_registration_is_stale_and_leaves_the_device_active()
    {
        // Given
        var active = ActiveDevice(registeredAt: _t, password: "pw-1");

        // When
        var decision = _rules.Apply(active, Deletion(_t.AddSeconds(-1)), null, [], _now);

        // Then
        AssertRejected(decision, RejectionCodes.Stale);
    }

    [Fact]
    public void Event_times_only_move_forward_when_an_older_event_is_still_applied()
    {
        // Given an active device registered 5 s after _t, and a deleted one deleted 5 s after _t
        var active = ActiveDevice(registeredAt: _t.AddSeconds(5), password: "old");
        var deleted = DeletedDevice(deletedAt: _t.AddSeconds(5));

        // When an older registration rotates the first, an older deletion deletes the second again
        var rotated = _rules.Apply(active, Registration(_t.AddSeconds(1)), Credential("new"), [], _now);
        var deletedAgain = _rules.Apply(deleted, Deletion(_t.AddSeconds(1)), null, [], _now);

        // Then both keep the later time
        Assert.Equal(LifecycleOutcome.Issued, rotated.Outcome);
        Assert.Equal(_t.AddSeconds(5), rotated.NewState?.RegisteredAt);
        Assert.Equal(LifecycleOutcome.Revoked, deletedAgain.Outcome);
        Assert.Equal(_t.AddSeconds(5), deletedAgain.NewState?.DeletedAt);
    }

    [Theory]
    [InlineData(DeviceEventKind.Registered, null, DeviceId, RejectionCodes.InvalidTenantId)]
    [InlineData(DeviceEventKind.Registered, "", DeviceId, RejectionCodes.InvalidTenantId)]
    [InlineData(DeviceEventKind.Deleted, "ac:me", DeviceId, RejectionCodes.InvalidTenantId)]
    [InlineData(DeviceEventKind.Registered, Tenant, null, RejectionCodes.InvalidDeviceId)]
    [InlineData(DeviceEventKind.Deleted, Tenant, "sensor.1", RejectionCodes.InvalidDeviceId)]
    [InlineData(DeviceEventKind.Registered, "a\0b", "sensor.1", RejectionCodes.InvalidTenantId)]
    public void An_event_with_an_invalid_id_is_rejected_with_the_code_of_that_id_and_the_ids_as_received(
        DeviceEventKind kind, string? tenantId, string? deviceId, string code)
    {
        // Given
        var e = new DeviceEvent(kind, Guid.NewGuid(), tenantId, deviceId, _t, _noReplyRoute);

        // When
        var decision = _rules.Apply(null, e, Credential("pw-1"), [], _now);

        // Then
        var rejected = AssertRejected(decision, code);
        Assert.Equal((tenantId, deviceId), (rejected.TenantId, rejected.DeviceId));
    }

    [Fact]
    public void The_same_message_twice_in_one_batch_has_one_effect_and_the_second_is_a_duplicate()
    {
        // Given
        var registration = Registration(_t);
        var credentials = new Dictionary<Guid, NewCredential> { [registration.MessageId] = Credential("pw-1") };

        // When
        var result = _rules.ApplyInArrivalOrder(
            [registration, registration], new HashSet<InboxKey> { registration.InboxKey }, [Device.Unknown(Tenant, DeviceId)], credentials, new NoDeviceTopics(), _now);

        // Then
        Assert.Equal([LifecycleOutcome.Issued, LifecycleOutcome.Duplicate], result.Outcomes);
        Assert.Null(result.Decisions[1]);
        Assert.Single(result.ChangedDevices);
    }

    [Fact]
    public void A_message_the_inbox_has_seen_before_has_no_effect()
    {
        // Given
        var deletion = Deletion(_t);

        // When
        var result = _rules.ApplyInArrivalOrder([deletion], new HashSet<InboxKey>(), [], new Dictionary<Guid, NewCredential>(), new NoDeviceTopics(), _now);

        // Then
        Assert.Equal([LifecycleOutcome.Duplicate], result.Outcomes);
        Assert.Empty(result.ChangedDevices);
    }

    [Fact]
    public void Two_events_for_one_device_in_one_batch_are_applied_in_arrival_order_each_on_the_state_the_other_left()
    {
        // Given a deletion that arrives before an older registration, then a newer registration
        var deletion = Deletion(_t.AddSeconds(2));
        var olderRegistration = Registration(_t.AddSeconds(1));
        var newerRegistration = Registration(_t.AddSeconds(3));
        var events = new[] { deletion, olderRegistration, newerRegistration };
        var credentials = new Dictionary<Guid, NewCredential>
        {
            [olderRegistration.MessageId] = Credential("older"),
            [newerRegistration.MessageId] = Credential("newer"),
        };

        // When
        var result = _rules.ApplyInArrivalOrder(
            events, events.Select(e => e.InboxKey).ToHashSet(), [ActiveDevice(registeredAt: _t, password: "old")], credentials, new NoDeviceTopics(), _now);

        // Then the older registration met the deletion, the newer one brought the device back; one final state is saved
        Assert.Equal([LifecycleOutcome.Revoked, LifecycleOutcome.Rejected, LifecycleOutcome.Issued], result.Outcomes);
        var final = Assert.Single(result.ChangedDevices);
        Assert.Equal((DeviceStatus.Active, Hash("newer"), _t.AddSeconds(3), _t.AddSeconds(2)), (final.Status, final.PasswordHash, final.RegisteredAt, final.DeletedAt));
    }

    [Fact]
    public void A_batch_asks_the_topic_rules_for_the_permissions_of_each_registered_device()
    {
        // Given
        var registration = Registration(_t);
        var credentials = new Dictionary<Guid, NewCredential> { [registration.MessageId] = Credential("pw-1") };

        // When
        var result = _rules.ApplyInArrivalOrder(
            [registration], new HashSet<InboxKey> { registration.InboxKey }, [Device.Unknown(Tenant, DeviceId)], credentials, new OneTopicPerDevice(), _now);

        // Then
        var issued = Assert.IsType<CredentialsIssued>(result.Decisions[0]?.Reply);
        Assert.Equal("devices/acme/sensor-1", Assert.Single(issued.Topics).Filter);
    }

    /// <summary>A rejection changes nothing and is sent at once: there is nothing for the broker to apply.</summary>
    private static ProvisioningRejected AssertRejected(LifecycleDecision decision, string code)
    {
        Assert.Equal(LifecycleOutcome.Rejected, decision.Outcome);
        Assert.Null(decision.NewState);
        Assert.False(decision.ReplyAwaitsBroker);
        var rejected = Assert.IsType<ProvisioningRejected>(decision.Reply);
        Assert.Equal(code, rejected.Code);
        return rejected;
    }

    private static DeviceEvent Registration(DateTimeOffset occurredAt) => new(DeviceEventKind.Registered, Guid.NewGuid(), Tenant, DeviceId, occurredAt, _noReplyRoute);

    private static DeviceEvent Deletion(DateTimeOffset occurredAt) => new(DeviceEventKind.Deleted, Guid.NewGuid(), Tenant, DeviceId, occurredAt, _noReplyRoute);

    private static Device ActiveDevice(DateTimeOffset registeredAt, string password) =>
        Device.Unknown(Tenant, DeviceId) with { Status = DeviceStatus.Active, PasswordHash = Hash(password), RegisteredAt = registeredAt };

    private static Device DeletedDevice(DateTimeOffset deletedAt) => Device.Unknown(Tenant, DeviceId) with { DeletedAt = deletedAt };

    /// <summary>A stand-in: the rules only carry the hash, they never compute or check it.</summary>
    private static NewCredential Credential(string password) => new(password, Hash(password));

    private static string Hash(string password) => $"hash-of-{password}";

    private sealed class OneTopicPerDevice : IDeviceTopics
    {
        public IReadOnlyList<TopicPermission> For(string tenantId, string deviceId) =>
            [new TopicPermission { Filter = $"devices/{tenantId}/{deviceId}", Access = TopicAccess.Read }];
    }
}
