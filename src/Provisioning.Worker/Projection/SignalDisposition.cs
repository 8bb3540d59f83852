using System.Globalization;

namespace Provisioning.Worker.Projection;

/// <summary>
/// Whether a process has installed a handler for a signal, read from <c>/proc/&lt;pid&gt;/status</c> (<c>SigCgt</c>).
/// Mosquitto writes its pid file before it installs its SIGHUP handler; a SIGHUP in between takes the default action
/// and kills the broker that was just starting (found by the RabbitMQ-restart fault scenario, exit status 129).
/// </summary>
public static class SignalDisposition
{
    /// <summary>True or false when <c>/proc</c> tells; null when it cannot be read (not Linux, another pid namespace).</summary>
    public static bool? Catches(int pid, int signal)
    {
        string status;
        try
        {
            status = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return CatchesIn(status, signal);
    }

    /// <summary>Reads the <c>SigCgt</c> line of a <c>/proc/&lt;pid&gt;/status</c> text; null when it has none.</summary>
    public static bool? CatchesIn(string status, int signal)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentOutOfRangeException.ThrowIfLessThan(signal, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(signal, 64);
        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("SigCgt:", StringComparison.Ordinal)
                && ulong.TryParse(line["SigCgt:".Length..].Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var mask))
            {
                return (mask & (1UL << (signal - 1))) != 0;
            }
        }

        return null;
    }
}
