using System.Globalization;
using System.Text;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.DeadLetters;

/// <summary>
/// How dead letters are shown to an operator. Every text taken from a message is untrusted: control and
/// format characters are escaped so a message cannot forge output lines or hide text on a terminal.
/// </summary>
public static class DeadLetterFormat
{
    private const string Indent = "             ";

    public static string Id(DeadLetter letter) => letter.MessageId is { } id ? SafeText.Unicode(id, 100) : "(no message id)";

    /// <summary><c>DeviceRegistered acme/sensor-1</c>: what the message is about, as far as it can be read.</summary>
    public static string Subject(DeadLetter letter)
    {
        var type = letter.MessageType is { } t ? SafeText.Unicode(t, 100) : "(unknown type)";
        var summary = letter.Summary;
        return summary.TenantId is null && summary.DeviceId is null
            ? type
            : $"{type} {SafeText.Unicode(summary.TenantId ?? "?", 100)}/{SafeText.Unicode(summary.DeviceId ?? "?", 100)}";
    }

    /// <summary>The multi-line block <c>list</c> prints for one message.</summary>
    public static string Block(DeadLetter letter)
    {
        ArgumentNullException.ThrowIfNull(letter);
        var fault = letter.Fault;
        var builder = new StringBuilder();
        Line(builder, $"#{letter.Position}", Id(letter));
        Line(builder, "type", letter.MessageType is { } type ? SafeText.Unicode(type, 200) : "(unknown)");
        if (letter.Summary.TenantId is not null || letter.Summary.DeviceId is not null)
        {
            Line(builder, "device", $"tenant {SafeText.Unicode(letter.Summary.TenantId ?? "(none)", 100)}, device {SafeText.Unicode(letter.Summary.DeviceId ?? "(none)", 100)}");
        }

        Line(builder, "reason", SafeText.Unicode(fault.Reason ?? "(not recorded)", 50));
        Line(builder, "fault", SafeText.Unicode(fault.Summary, 2000));
        var when = fault.Timestamp is { } timestamp ? SafeText.Unicode(timestamp, 50) : "(time not recorded)";
        var retries = fault.RetryCount is { } count ? $", after {count} retr{(count == 1 ? "y" : "ies")}" : string.Empty;
        Line(builder, "failed", $"{when} on queue {SafeText.Unicode(letter.TargetQueue, 200)}{retries}");
        if (fault.ConsumerType is { } consumer)
        {
            Line(builder, "consumer", SafeText.Unicode(consumer, 200));
        }

        Line(builder, "replays", letter.ReplayCount.ToString(CultureInfo.InvariantCulture));
        Line(builder, "content", $"{SafeText.Unicode(letter.Properties.ContentType ?? "(no content type)", 100)}, {letter.Body.Length} bytes");
        return builder.ToString();
    }

    /// <summary>The body as text when it is UTF-8 (escaped), else base64: a purged message is gone, its record is all that remains.</summary>
    public static string Body(DeadLetter letter)
    {
        ArgumentNullException.ThrowIfNull(letter);
        try
        {
            var text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(letter.Body.Span);
            return "text " + SafeText.Unicode(text, 64 * 1024);
        }
        catch (DecoderFallbackException)
        {
            return "base64 " + Convert.ToBase64String(letter.Body.Span);
        }
    }

    private static void Line(StringBuilder builder, string label, string value) =>
        builder.Append(label).Append(Indent.AsSpan(Math.Min(label.Length, Indent.Length - 1))).Append(value).Append('\n');
}
