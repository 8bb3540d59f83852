using System.Text;
using Provisioning.Worker.Secrets;
using Sodium;

namespace Provisioning.Worker.Tests.Secrets;

public class CredentialKeyTests
{
    [Fact]
    public void A_device_public_key_in_base64_is_usable_and_a_sealed_password_opens_only_with_its_private_key()
    {
        // Given
        var device = PublicKeyBox.GenerateKeyPair();
        var other = PublicKeyBox.GenerateKeyPair();

        // When
        var key = CredentialKey.Parse(Convert.ToBase64String(device.PublicKey));
        var sealedPassword = PasswordSeal.Seal("a-password-of-43-characters-xxxxxxxxxxxxxxx", key!);

        // Then
        Assert.Null(key!.Problem);
        Assert.Equal(124, sealedPassword.Length);
        Assert.Equal("a-password-of-43-characters-xxxxxxxxxxxxxxx", Encoding.UTF8.GetString(SealedPublicKeyBox.Open(Convert.FromBase64String(sealedPassword), device.PrivateKey, device.PublicKey)));
        Assert.ThrowsAny<Exception>(() => SealedPublicKeyBox.Open(Convert.FromBase64String(sealedPassword), other.PrivateKey, other.PublicKey));
    }

    [Fact]
    public void No_key_is_no_sealing() => Assert.Null(CredentialKey.Parse(null));

    [Theory]
    [InlineData("", "credentialKey is empty")]
    [InlineData("not base64 at all!", "is not base64 of 32 bytes")]
    [InlineData("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", "decodes to 31 bytes")]
    [InlineData("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", "decodes to 33 bytes")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "low-order point")]
    public void A_key_that_is_not_32_bytes_of_base64_or_cannot_be_sealed_to_has_a_problem_naming_the_field(string text, string expected)
    {
        var key = CredentialKey.Parse(text);

        Assert.NotNull(key?.Problem);
        Assert.Contains("credentialKey", key.Problem, StringComparison.Ordinal);
        Assert.Contains(expected, key.Problem, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => key.PublicKey.Length);
    }

    [Fact]
    public void A_huge_value_is_not_decoded_and_not_echoed()
    {
        var key = CredentialKey.Parse(new string('A', 10_000_000));

        Assert.Equal("credentialKey (10000000 characters) is not base64 of 32 bytes", key?.Problem);
    }
}
