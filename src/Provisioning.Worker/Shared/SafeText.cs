using System.Globalization;
using System.Text;

namespace Provisioning.Worker.Shared;

/// <summary>
/// The one escaper for text the worker did not write itself (ids, usernames, message fields, broker errors) before it
/// reaches a log line, a reply or a terminal: a hostile value cannot forge lines or hide text, and a long one is cut
/// (with "..."). Escaped characters are shown as <c>\uXXXX</c>. Two rules, by what the text is.
/// </summary>
public static class SafeText
{
    /// <summary>
    /// Identifiers (tenant/device ids, usernames, command words): everything outside printable ASCII is escaped, so a
    /// look-alike letter is visible as such. The outbox's device key relies on a valid id coming back unchanged
    /// (Devices/LifecycleTransaction).
    /// </summary>
    public static string Ascii(string value, int maxLength = 80) =>
        Escape(value, maxLength, static c => c is < ' ' or > '~');

    /// <summary>
    /// Free text (fault messages, message types, queue names): control, format and line/paragraph separator characters
    /// are escaped; other Unicode is kept readable. Null shows as empty.
    /// </summary>
    public static string Unicode(string? value, int maxLength = 200) =>
        value is null
            ? string.Empty
            : Escape(value, maxLength, static c => char.IsControl(c)
                || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator);

    private static string Escape(string value, int maxLength, Func<char, bool> escaped)
    {
        var cut = value.Length > maxLength;
        var builder = new StringBuilder();
        foreach (var c in cut ? value[..maxLength] : value)
        {
            if (escaped(c))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return cut ? builder.Append("...").ToString() : builder.ToString();
    }
}
