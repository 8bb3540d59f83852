using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Tests.Shared;

public class SafeTextTests
{
    [Fact]
    public void Ascii_escapes_control_and_non_ascii_characters_and_truncates_long_values()
    {
        Assert.Equal("a\\u000Ab\\u0000", SafeText.Ascii("a\nb\0"));
        Assert.Equal("caf\\u00E9\\u007F", SafeText.Ascii("café\u007f"));
        var printed = SafeText.Ascii(new string('x', 500));
        Assert.Equal(new string('x', 80) + "...", printed);
    }

    [Fact]
    public void Ascii_leaves_a_valid_id_unchanged() => Assert.Equal("Tenant_01-x.sensor-1", SafeText.Ascii("Tenant_01-x.sensor-1"));

    [Fact]
    public void Unicode_keeps_letters_but_escapes_controls_format_characters_and_line_separators()
    {
        Assert.Equal("café \\u000D\\u000A\\u202E\\u2028", SafeText.Unicode("café \r\n\u202e\u2028"));
        Assert.Equal(string.Empty, SafeText.Unicode(null));
        Assert.Equal("abc...", SafeText.Unicode("abcdef", 3));
    }
}
