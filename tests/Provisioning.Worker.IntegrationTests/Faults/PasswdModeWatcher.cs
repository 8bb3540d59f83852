using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>
/// Checks the passwd file's mode after every rewrite: inotify (FileSystemWatcher) reports each rename onto the path
/// (the worker's atomic replace) and each write, and the mode of the file then in place is read at once.
/// </summary>
public sealed class PasswdModeWatcher : IDisposable
{
    private readonly string _path;
    private readonly FileSystemWatcher _watcher;
    private readonly Lock _lock = new();
    private readonly List<string> _violations = [];
    private int _replacements;
    private int _checks;

    public PasswdModeWatcher(string path)
    {
        _path = Path.GetFullPath(path);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Attributes | NotifyFilters.Size,
            IncludeSubdirectories = false,
            InternalBufferSize = 64 * 1024,
        };
        _watcher.Renamed += (_, e) =>
        {
            if (e.FullPath == _path)
            {
                Interlocked.Increment(ref _replacements);
                Check();
            }
        };
        _watcher.Created += (_, e) => CheckIf(e.FullPath);
        _watcher.Changed += (_, e) => CheckIf(e.FullPath);
        _watcher.Error += (_, e) => Record($"the watcher failed: {e.GetException().Message}");
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Renames onto the passwd path seen: the worker's (and the operator command's) atomic rewrites.</summary>
    public int Replacements => Volatile.Read(ref _replacements);

    public int Checks => Volatile.Read(ref _checks);

    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_lock)
            {
                return [.. _violations];
            }
        }
    }

    /// <summary>Checks the file in place now as well (the last rewrite may still be in the event queue).</summary>
    public void CheckNow() => Check();

    public void Dispose() => _watcher.Dispose();

    private void CheckIf(string path)
    {
        if (path == _path)
        {
            Check();
        }
    }

    private void Check()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        UnixFileMode mode;
        try
        {
            mode = File.GetUnixFileMode(_path);
        }
        catch (IOException)
        {
            return; // replaced again in between: the next event checks the new one
        }

        Interlocked.Increment(ref _checks);
        if (!BrokerTargetOptions.IsStrictEnough(mode))
        {
            Record($"the passwd file had mode {Convert.ToString((int)mode, 8)} (looser than 0640)");
        }
    }

    private void Record(string violation)
    {
        lock (_lock)
        {
            _violations.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {violation}");
        }
    }
}
