using System.Security.Cryptography;
using System.Text;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Mosquitto;

public class MosquittoPasswordHashTests
{
    // Made by mosquitto_passwd 2.0.11: `mosquitto_passwd -b f op1 secret` and `-H sha512 -b f old6 secret6`.
    private const string RealPbkdf2Hash = "$7$101$xZFxLQzKgIGhD3QD$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==";
    private const string RealSha512Hash = "$6$QttTyQ5wj0ZOx4CM$hMZiIIcgc7/u9Xma0lV6Zkkv3HWJNCzOrAlxCP3EBIGab+d9F9pyxC9C5XwxQYWo3uCD+zv0gvBpgqSiJWHvpg==";

    [Fact]
    public void Create_writes_the_7_prefix_the_iterations_a_12_byte_salt_and_a_64_byte_key_in_padded_base64()
    {
        // Given / When
        var hash = MosquittoPasswordHash.Create("pw", 101);

        // Then
        var parts = hash.Split('$');
        Assert.Equal(5, parts.Length);
        Assert.Equal("", parts[0]);
        Assert.Equal("7", parts[1]);
        Assert.Equal("101", parts[2]);
        Assert.Equal(16, parts[3].Length);
        Assert.Equal(12, Convert.FromBase64String(parts[3]).Length);
        Assert.Equal(88, parts[4].Length);
        Assert.EndsWith("==", parts[4], StringComparison.Ordinal);
        Assert.Equal(64, Convert.FromBase64String(parts[4]).Length);
    }

    [Fact]
    public void Create_uses_the_requested_iteration_count()
    {
        // Given / When
        var hash = MosquittoPasswordHash.Create("pw", 1000);

        // Then
        Assert.StartsWith("$7$1000$", hash, StringComparison.Ordinal);
        Assert.True(MosquittoPasswordHash.Verify("pw", hash));
    }

    [Fact]
    public void Create_computes_pbkdf2_hmac_sha512_over_the_utf8_password_and_the_salt()
    {
        // Given
        var hash = MosquittoPasswordHash.Create("pässword", 7);
        var parts = hash.Split('$');

        // When
        var expected = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes("pässword"), Convert.FromBase64String(parts[3]), 7, HashAlgorithmName.SHA512, 64);

        // Then
        Assert.Equal(Convert.ToBase64String(expected), parts[4]);
    }

    [Fact]
    public void Create_draws_a_new_salt_every_time()
    {
        Assert.NotEqual(MosquittoPasswordHash.Create("pw", 1), MosquittoPasswordHash.Create("pw", 1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Create_refuses_fewer_than_one_iteration(int iterations)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MosquittoPasswordHash.Create("pw", iterations));
    }

    public static TheoryData<string> Unmatchable() => ["", "a\0b", "lone" + (char)0xD800 + "surrogate"];

    [Theory]
    [MemberData(nameof(Unmatchable), DisableDiscoveryEnumeration = true)]
    public void Create_refuses_a_password_Mosquitto_could_never_match(string password)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => MosquittoPasswordHash.Create(password, 1));
        Assert.DoesNotContain(password.Length > 0 ? password : "\u0001", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_accepts_the_right_password_and_refuses_a_wrong_one()
    {
        // Given
        var hash = MosquittoPasswordHash.Create("correct horse", 101);

        // When / Then
        Assert.True(MosquittoPasswordHash.Verify("correct horse", hash));
        Assert.False(MosquittoPasswordHash.Verify("correct horsf", hash));
        Assert.False(MosquittoPasswordHash.Verify("", hash));
    }

    [Fact]
    public void Verify_accepts_a_7_hash_made_by_mosquitto_passwd()
    {
        Assert.True(MosquittoPasswordHash.Verify("secret", RealPbkdf2Hash));
        Assert.False(MosquittoPasswordHash.Verify("Secret", RealPbkdf2Hash));
    }

    [Fact]
    public void Verify_accepts_a_6_hash_made_by_mosquitto_passwd_which_hashes_the_password_then_the_salt()
    {
        Assert.True(MosquittoPasswordHash.Verify("secret6", RealSha512Hash));
        Assert.False(MosquittoPasswordHash.Verify("secret", RealSha512Hash));
    }

    [Fact]
    public void Verify_computes_6_as_sha512_of_password_followed_by_salt_not_salt_followed_by_password()
    {
        // Given
        var salt = RandomNumberGenerator.GetBytes(12);
        var passwordFirst = SHA512.HashData([.. "pw"u8, .. salt]);
        var saltFirst = SHA512.HashData([.. salt, .. "pw"u8]);

        // When / Then
        Assert.True(MosquittoPasswordHash.Verify("pw", $"$6${Convert.ToBase64String(salt)}${Convert.ToBase64String(passwordFirst)}"));
        Assert.False(MosquittoPasswordHash.Verify("pw", $"$6${Convert.ToBase64String(salt)}${Convert.ToBase64String(saltFirst)}"));
    }

    public static TheoryData<string?> Malformed() =>
    [
        null,
        "",
        "plaintext",
        "$7$",
        "$7$101$",
        "$7$0$xZFxLQzKgIGhD3QD$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==",
        "$7$-1$xZFxLQzKgIGhD3QD$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==",
        "$7$abc$xZFxLQzKgIGhD3QD$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==",
        "$7$99999999999$xZFxLQzKgIGhD3QD$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==",
        // 16-byte salt: 2.1 takes it, 2.0 refuses it
        "$7$101$AAAAAAAAAAAAAAAAAAAAAA==$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==",
        // 32-byte key
        "$7$101$xZFxLQzKgIGhD3QD$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        // not base64
        "$7$101$xZFxLQzKgIGhD3Q!$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==",
        // whitespace inside base64, which Convert would skip
        "$7$101$xZFxLQzK gIGhD3Q$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==",
        // unpadded key
        "$7$101$xZFxLQzKgIGhD3QD$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw",
        // trailing field
        "$7$101$xZFxLQzKgIGhD3QD$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==$x",
        "$5$101$xZFxLQzKgIGhD3QD$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==",
        // $6$ carries no iteration count
        "$6$101$QttTyQ5wj0ZOx4CM$hMZiIIcgc7/u9Xma0lV6Zkkv3HWJNCzOrAlxCP3EBIGab+d9F9pyxC9C5XwxQYWo3uCD+zv0gvBpgqSiJWHvpg==",
        "$6$QttTyQ5wj0ZOx4C$hMZiIIcgc7/u9Xma0lV6Zkkv3HWJNCzOrAlxCP3EBIGab+d9F9pyxC9C5XwxQYWo3uCD+zv0gvBpgqSiJWHvpg==",
    ];

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_hashes_are_not_well_formed_and_never_verify(string? hash)
    {
        Assert.False(MosquittoPasswordHash.IsWellFormed(hash));
        Assert.False(MosquittoPasswordHash.Verify("secret", hash));
    }

    [Theory]
    [InlineData(RealPbkdf2Hash)]
    [InlineData(RealSha512Hash)]
    [InlineData("$7$1$xZFxLQzKgIGhD3QD$H1IA9DngjrY8OUIbhkIh7OgxCzzbxTbBYyBnMdU5aVIgv64bzgg7p2qLCcUiGD/+Wc4Clopb4dDFBRPpJi+pPw==")]
    public void Hashes_as_mosquitto_passwd_writes_them_are_well_formed(string hash)
    {
        Assert.True(MosquittoPasswordHash.IsWellFormed(hash));
    }

    [Fact]
    public void A_created_hash_is_well_formed()
    {
        Assert.True(MosquittoPasswordHash.IsWellFormed(MosquittoPasswordHash.Create("pw", 101)));
    }

    [Fact]
    public void Verify_refuses_a_password_with_NUL_that_the_broker_would_cut_short()
    {
        // Given
        var hash = MosquittoPasswordHash.Create("abc", 1);

        // When / Then
        Assert.False(MosquittoPasswordHash.Verify("abc\0def", hash));
    }
}
