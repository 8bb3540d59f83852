using System.Globalization;
using System.Runtime.InteropServices;

namespace Provisioning.Worker.Mosquitto;

/// <summary>
/// Mosquitto's pid file (<c>Mosquitto:PidFile</c>) and the one way the worker signals the broker: the reload
/// (<see cref="MosquittoReloader"/>) and the readiness check (<see cref="Health.MosquittoSignalProbe"/>) read and
/// signal alike.
/// </summary>
internal static partial class MosquittoPidFile
{
    /// <summary>The pid in the file, or null and why not (unreadable, or not a pid above 1).</summary>
    public static async Task<(int? Pid, string? Problem)> ReadAsync(string pidFile, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(pidFile, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, $"Cannot read Mosquitto's pid file {pidFile} ({e.GetType().Name}): is the broker running?");
        }

        return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 1
            ? (pid, null)
            : (null, $"Mosquitto's pid file {pidFile} does not hold a pid other than 1.");
    }

    /// <summary><c>kill(pid, signal)</c>: 0 when sent (signal 0 sends nothing and only checks), else the errno.</summary>
    public static int Signal(int pid, int signal) => Kill(pid, signal) == 0 ? 0 : Marshal.GetLastPInvokeError();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
