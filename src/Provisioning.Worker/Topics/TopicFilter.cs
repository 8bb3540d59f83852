using System.Text;

namespace Provisioning.Worker.Topics;

/// <summary>The MQTT 3.1.1/5 rules for a topic filter, as Mosquitto checks them (<c>mosquitto_sub_topic_check</c>).</summary>
public static class TopicFilter
{
    private const int MaxBytes = 65535;

    /// <summary>Why <paramref name="filter"/> is not a valid topic filter, or null when it is.</summary>
    public static string? Problem(string filter)
    {
        if (string.IsNullOrEmpty(filter))
        {
            return "the filter is empty";
        }

        if (Encoding.UTF8.GetByteCount(filter) > MaxBytes)
        {
            return $"the filter is longer than {MaxBytes} bytes";
        }

        var levels = filter.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            var level = levels[i];
            if (level.Contains('#', StringComparison.Ordinal) && (level != "#" || i != levels.Length - 1))
            {
                return "'#' must be a whole level and the last one";
            }

            if (level.Contains('+', StringComparison.Ordinal) && level != "+")
            {
                return "'+' must be a whole level";
            }
        }

        return filter.Contains('\0', StringComparison.Ordinal) ? "the filter contains a NUL character" : null;
    }
}
