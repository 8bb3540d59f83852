using System.Text;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Tests.Mosquitto;

public class MosquittoUsernameTests
{
    [Theory]
    [InlineData("operator")]
    [InlineData("acme.sensor-1")]
    [InlineData("ünïcödé")]
    [InlineData("with space inside")]
    [InlineData("emoji\U0001F600")]
    [InlineData("a#b")]
    public void Legal_usernames_are_accepted(string username)
    {
        Assert.True(MosquittoUsername.TryValidate(username, out var problem), problem);
        MosquittoUsername.Validate(username);
    }

    [Theory]
    [InlineData("a:b", "a:b")]
    [InlineData("line\nbreak", "line\\u000Abreak")]
    [InlineData("nul\0byte", "nul\\u0000byte")]
    [InlineData("del\u007Fchar", "del\\u007Fchar")]
    [InlineData("tab\tchar", "tab\\u0009char")]
    [InlineData("c1\u0085char", "c1\\u0085char")]
    [InlineData(" leading", " leading")]
    [InlineData("trailing ", "trailing ")]
    [InlineData("#comment", "#comment")]
    [InlineData("non\uFFFEchar", "non\\uFFFEchar")]
    public void Illegal_usernames_are_refused_with_a_message_naming_the_escaped_value(string username, string shown)
    {
        // When
        var valid = MosquittoUsername.TryValidate(username, out var problem);
        var e = Assert.Throws<ArgumentException>(() => MosquittoUsername.Validate(username));

        // Then
        Assert.False(valid);
        Assert.Contains($"\"{shown}\"", problem, StringComparison.Ordinal);
        Assert.Contains($"\"{shown}\"", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\0', e.Message);
    }

    // Attribute arguments and xunit's serialised theory data cannot carry a lone surrogate: built at run time, not pre-enumerated.
    public static TheoryData<string, string> LoneSurrogates() => new()
    {
        { "lone" + (char)0xD800, "lone\\uD800" },
        { "lone" + (char)0xDC00 + "low", "lone\\uDC00low" },
    };

    [Theory]
    [MemberData(nameof(LoneSurrogates), DisableDiscoveryEnumeration = true)]
    public void A_lone_surrogate_is_refused_as_invalid_utf8_naming_the_escaped_value(string username, string shown)
    {
        Illegal_usernames_are_refused_with_a_message_naming_the_escaped_value(username, shown);
        Assert.False(MosquittoUsername.TryValidate(username, out var problem));
        Assert.Contains("UTF-8", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void Empty_or_missing_usernames_are_refused(string? username)
    {
        Assert.False(MosquittoUsername.TryValidate(username, out _));
        Assert.Throws<ArgumentException>(() => MosquittoUsername.Validate(username));
    }

    [Fact]
    public void A_username_longer_than_65535_utf8_bytes_is_refused()
    {
        Assert.True(MosquittoUsername.TryValidate(new string('é', 32767), out _));
        Assert.False(MosquittoUsername.TryValidate(new string('é', 32768), out _));
    }

    [Fact]
    public void Bytes_that_are_not_valid_utf8_are_refused()
    {
        // Given: a truncated two-byte sequence and an encoded surrogate (CESU style)
        byte[] truncated = [(byte)'a', 0xC3];
        byte[] surrogate = [0xED, 0xA0, 0x80];

        // When / Then
        Assert.False(MosquittoUsername.TryValidate(truncated, out var problem));
        Assert.Contains("UTF-8", problem, StringComparison.Ordinal);
        Assert.False(MosquittoUsername.TryValidate(surrogate, out _));
    }

    [Fact]
    public void Valid_utf8_bytes_decode_to_the_username()
    {
        Assert.True(MosquittoUsername.TryDecode(Encoding.UTF8.GetBytes("ops-ü"), out var username, out _));
        Assert.Equal("ops-ü", username);
        Assert.True(MosquittoUsername.TryValidate("ops"u8, out _));
        Assert.False(MosquittoUsername.TryValidate("o:ps"u8, out _));
    }
}
