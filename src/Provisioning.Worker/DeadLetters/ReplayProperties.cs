using RabbitMQ.Client;

namespace Provisioning.Worker.DeadLetters;

/// <summary>
/// The properties a replayed message is published with: the original's (message id, content type, correlation id,
/// persistence, its own headers…) minus what dead-lettering added, plus the replay count.
/// </summary>
public static class ReplayProperties
{
    /// <summary>RabbitMQ.Client's own bookkeeping for publisher confirms; the publishing client sets a fresh one.</summary>
    private const string PublishSequenceHeader = "x-dotnet-pub-seq-no";

    /// <param name="connectionUser">The broker refuses a user_id other than the publishing user's: it is kept only when they match.</param>
    public static BasicProperties For(DeadLetter letter, string connectionUser)
    {
        ArgumentNullException.ThrowIfNull(letter);
        var original = letter.Properties;
        var properties = new BasicProperties(original);
        if (!string.IsNullOrEmpty(original.UserId) && original.UserId != connectionUser)
        {
            properties.UserId = null;
        }

        var headers = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in original.Headers ?? new Dictionary<string, object?>())
        {
            if (!FaultInfo.IsDeadLetteringHeader(key) && key != PublishSequenceHeader && key != DeadLetter.ReplayCountHeader)
            {
                headers[key] = value;
            }
        }

        headers[DeadLetter.ReplayCountHeader] = letter.ReplayCount + 1;
        properties.Headers = headers;
        return properties;
    }
}
