namespace Provisioning.Worker.Health;

/// <summary>An exception as one line for a health description: the messages down the inner chain ("Exception while writing to stream" alone says little).</summary>
internal static class FailureText
{
    private const int MaxLength = 500;

    public static string Describe(Exception exception)
    {
        var messages = new List<string>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            var message = e.Message.Trim();
            if (message.Length > 0 && !messages.Any(m => m.Contains(message, StringComparison.Ordinal)))
            {
                messages.Add(message.TrimEnd('.'));
            }
        }

        var text = string.Join(": ", messages);
        return text.Length <= MaxLength ? text : string.Concat(text.AsSpan(0, MaxLength), "…");
    }
}
