using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Health;

/// <summary>
/// Whether the worker could send Mosquitto its reload signal right now: the pid file names a live process this
/// user may signal. <c>kill(pid, 0)</c> checks exactly that and delivers nothing, so it catches a stopped broker,
/// a stale pid file and a uid mismatch (containers) before a registration needs a reload.
/// </summary>
internal static partial class MosquittoSignalProbe
{
    private const int NoSuchProcess = 3; // ESRCH
    private const int NotPermitted = 1; // EPERM

    /// <summary>The pid, and null when it can be signalled; else why not.</summary>
    public static async Task<(int? Pid, string? Problem)> CheckAsync(string pidFile, CancellationToken cancellationToken)
    {
        var (read, problem) = await MosquittoPidFile.ReadAsync(pidFile, cancellationToken);
        if (read is not { } pid)
        {
            return (null, problem);
        }

        var errno = MosquittoPidFile.Signal(pid, 0);
        if (errno == 0)
        {
            // A stopped broker passes kill(pid, 0) and is only noticed once a reload is due (the Mosquitto-frozen fault scenario).
            return SignalDisposition.Stopped(pid) == true
                ? (pid, $"Mosquitto (pid {pid} from {pidFile}) is stopped (SIGSTOP, or a debugger): it answers no client and takes no reload until it is continued (SIGCONT).")
                : (pid, null);
        }

        return errno switch
        {
            NoSuchProcess => (pid, $"No process has the pid {pid} from {pidFile}: Mosquitto is not running (or runs in another pid namespace)."),
            NotPermitted => (pid, $"The worker (uid {GetUid().ToString(CultureInfo.InvariantCulture)}) may not signal Mosquitto (pid {pid}): both must run as the same user."),
            _ => (pid, $"Cannot signal Mosquitto (pid {pid} from {pidFile}): {new Win32Exception(errno).Message}."),
        };
    }

    [LibraryImport("libc", EntryPoint = "getuid")]
    private static partial uint GetUid();
}
