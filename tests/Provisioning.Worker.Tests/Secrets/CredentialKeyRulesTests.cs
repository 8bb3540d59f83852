using Provisioning.Contracts;
using Provisioning.Worker.Devices;
using Provisioning.Worker.Outbox;
using Provisioning.Worker.Secrets;
using Sodium;

namespace Provisioning.Worker.Tests.Secrets;

public class CredentialKeyRulesTests
{
    private static readonly DateTimeOffset _now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private static readonly LifecycleRules _rules = new("broker.example", 8883);
    private static readonly NewCredential _credential = new("pw-1", "$7$1$c2FsdA==$aGFzaA==");

    [Theory]
    [InlineData("")]
    [InlineData("%%%")]
    [InlineData("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==")]
    public void A_registration_with_an_unusable_credential_key_is_rejected_with_its_code_and_touches_no_device(string credentialKey)
    {
        // Given
        var registration = Registration(CredentialKey.Parse(credentialKey));

        // When
        var result = _rules.ApplyInArrivalOrder(
            [registration], new HashSet<InboxKey> { registration.InboxKey }, [], new Dictionary<Guid, NewCredential>(), new NoDeviceTopics(), _now);

        // Then
        var decision = Assert.Single(result.Decisions);
        Assert.Equal(LifecycleOutcome.Rejected, decision!.Outcome);
        Assert.Null(decision.NewState);
        var rejected = Assert.IsType<ProvisioningRejected>(decision.Reply);
        Assert.Equal((RejectionCodes.InvalidCredentialKey, "acme", "sensor-1"), (rejected.Code, rejected.TenantId, rejected.DeviceId));
        Assert.Empty(result.ChangedDevices);
        Assert.False(LifecycleRules.IsWellFormed(registration));
    }

    [Fact]
    public void Invalid_ids_are_reported_before_an_invalid_key()
    {
        var registration = Registration(CredentialKey.Parse("")) with { TenantId = "ac:me" };

        var decision = _rules.Apply(null, registration, _credential, [], _now);

        Assert.Equal(RejectionCodes.InvalidTenantId, Assert.IsType<ProvisioningRejected>(decision.Reply).Code);
    }

    [Fact]
    public void A_registration_with_a_usable_key_issues_the_credential_like_any_other()
    {
        var registration = Registration(CredentialKey.Parse(Convert.ToBase64String(PublicKeyBox.GenerateKeyPair().PublicKey)));

        var decision = _rules.Apply(null, registration, _credential, [], _now);

        Assert.Equal(LifecycleOutcome.Issued, decision.Outcome);
        Assert.True(LifecycleRules.IsWellFormed(registration));
    }

    private static DeviceEvent Registration(CredentialKey? key) =>
        new(DeviceEventKind.Registered, Guid.NewGuid(), "acme", "sensor-1", _now.AddMinutes(-1), new ReplyRoute(null, null, null, null), key);
}
