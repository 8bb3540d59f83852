using System.Globalization;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// Whether a process has installed a handler for a signal, read from <c>/proc/&lt;pid&gt;/status</c> (<c>SigCgt</c>).
/// Mosquitto writes its pid file before it installs its SIGHUP handler; a SIGHUP in between takes the default action
/// and kills the broker that was just starting (found by the RabbitMQ-restart fault scenario, exit status 129).
/// </summary>
public static class SignalDisposition
{
    /// <summary>True or false when <c>/proc</c> tells; null when it cannot be read (not Linux, another pid namespace).</summary>
    public static bool? Catches(int pid, int signal) => Status(pid) is { } status ? CatchesIn(status, signal) : null;

    /// <summary>
    /// True when the process is stopped (SIGSTOP, or a debugger): alive to <c>kill(pid, 0)</c>, its port still
    /// completing TCP handshakes, but it answers nothing and a signal to it stays pending. Null when <c>/proc</c> does not tell.
    /// </summary>
    public static bool? Stopped(int pid) => Status(pid) is { } status ? StoppedIn(status) : null;

    /// <summary>Reads the <c>State</c> line of a <c>/proc/&lt;pid&gt;/status</c> text: <c>T</c> stopped, <c>t</c> stopped by a tracer.</summary>
    public static bool? StoppedIn(string status)
    {
        ArgumentNullException.ThrowIfNull(status);
        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("State:", StringComparison.Ordinal))
            {
                var state = line["State:".Length..].Trim();
                return state.Length > 0 && state[0] is 'T' or 't';
            }
        }

        return null;
    }

    private static string? Status(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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
