using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Provisioning.Contracts;
using Provisioning.Worker.Secrets;
using Sodium;

namespace Provisioning.Worker.Tests.Secrets;

public class ReplySecretsTests
{
    private const string Password = "Zm9vYmFyLXBhc3N3b3JkLW9mLTQzLWNoYXJhY3RlcnM";

    private static readonly CredentialsIssued _issued = new()
    {
        TenantId = "acme",
        DeviceId = "sensor-1",
        Username = "acme.sensor-1",
        Password = Password,
        BrokerHost = "broker.example",
        BrokerPort = 8883,
        IssuedAt = new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero),
    };

    [Fact]
    public void Without_a_device_key_the_stored_reply_has_no_password_and_the_password_is_stored_encrypted_and_put_back_at_send()
    {
        // Given
        var secrets = new ReplySecrets(new PasswordProtector(new EphemeralDataProtectionProvider()));

        // When
        var (stored, secret) = secrets.Conceal(_issued, null);

        // Then
        Assert.Null(stored.Password);
        Assert.Null(stored.SealedPassword);
        Assert.NotNull(secret);
        Assert.DoesNotContain(Password, Encoding.UTF8.GetString(secret), StringComparison.Ordinal);
        Assert.DoesNotContain(Password, Convert.ToBase64String(secret), StringComparison.Ordinal);
        Assert.Equal(_issued, secrets.Reveal(stored, secret));
    }

    [Fact]
    public void With_a_device_key_the_stored_reply_carries_only_the_sealed_password_and_nothing_is_left_to_decrypt()
    {
        // Given
        var device = PublicKeyBox.GenerateKeyPair();
        var secrets = new ReplySecrets(new PasswordProtector(new EphemeralDataProtectionProvider()));

        // When
        var (stored, secret) = secrets.Conceal(_issued, CredentialKey.Parse(Convert.ToBase64String(device.PublicKey)));

        // Then
        Assert.Null(secret);
        Assert.Null(stored.Password);
        Assert.Equal(stored, secrets.Reveal(stored, secret));
        var opened = SealedPublicKeyBox.Open(Convert.FromBase64String(stored.SealedPassword!), device.PrivateKey, device.PublicKey);
        Assert.Equal(Password, Encoding.UTF8.GetString(opened));
    }

    [Fact]
    public void A_password_encrypted_under_a_key_ring_that_is_gone_is_unreadable_not_garbage()
    {
        // Given: written under one key ring, read under another (the first one lost)
        var (stored, secret) = new ReplySecrets(new PasswordProtector(new EphemeralDataProtectionProvider())).Conceal(_issued, null);
        var afterLoss = new ReplySecrets(new PasswordProtector(new EphemeralDataProtectionProvider()));

        // When / Then
        Assert.Throws<UnreadableSecretException>(() => afterLoss.Reveal(stored, secret));
    }

    [Fact]
    public void A_reply_written_before_encryption_existed_is_sent_as_written()
    {
        var secrets = new ReplySecrets(new PasswordProtector(new EphemeralDataProtectionProvider()));

        Assert.Equal(_issued, secrets.Reveal(_issued, null));
    }
}
