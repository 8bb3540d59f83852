using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// The worker as a separate process (<c>dotnet Provisioning.Worker.dll</c>), as it runs in production. Its output
/// goes to a log file; the benchmark reads the projection's own timings from it (rewrite + reload per cycle).
/// </summary>
public sealed partial class WorkerRunner : IAsyncDisposable
{
    private static readonly string[] _readyMarks = ["Passwd projection applied", "Application started", "Bus started"];

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _lock = new();
    private readonly Queue<string> _tail = new();
    private readonly List<double> _cycleMs = [];
    private readonly List<double> _writeMs = [];
    private readonly List<double> _reloadMs = [];
    private readonly HashSet<string> _seenMarks = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WorkerRunner(Process process, StreamWriter log, string logPath)
    {
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public int Pid => _process.Id;

    public string LogPath { get; }

    public static WorkerRunner Start(string dll, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        var info = new ProcessStartInfo(DotnetHost) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Mosquitto__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var log = new StreamWriter(logPath, append: true) { AutoFlush = false };
        var process = new Process { StartInfo = info };
        var runner = new WorkerRunner(process, log, logPath);
        process.OutputDataReceived += (_, e) => runner.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => runner.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return runner;
    }

    public string Tail
    {
        get
        {
            lock (_lock)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    /// <summary>Projection cycles logged so far: the time of each rewrite + reload, of the file write alone, and of the reload alone (SIGHUP to accepted probe login).</summary>
    public (IReadOnlyList<double> CycleMs, IReadOnlyList<double> WriteMs, IReadOnlyList<double> ReloadMs) Timings()
    {
        lock (_lock)
        {
            return ([.. _cycleMs], [.. _writeMs], [.. _reloadMs]);
        }
    }

    /// <summary>Waits until the worker rendered the file once and its bus is started (queues bound).</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var exited = _process.WaitForExitAsync(cancellationToken);
        var done = await Task.WhenAny(_ready.Task, exited, Task.Delay(timeout, cancellationToken));
        if (done != _ready.Task)
        {
            throw new InvalidOperationException(
                $"the worker {(exited.IsCompleted ? "exited" : "did not become ready within " + timeout)} (log {LogPath}):\n{Tail}");
        }
    }

    public void ThrowIfExited()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"the worker exited with {_process.ExitCode} (log {LogPath}):\n{Tail}");
        }
    }

    /// <summary>SIGTERM, then waits for the graceful exit (SIGKILL after the timeout).</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        lock (_lock)
        {
            _log.Flush();
        }

        await _log.DisposeAsync();
    }

    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _log.WriteLine(line);
            _tail.Enqueue(line);
            if (_tail.Count > 200)
            {
                _tail.Dequeue();
            }

            if (CycleLine().Match(line) is { Success: true } cycle)
            {
                _writeMs.Add(double.Parse(cycle.Groups[1].Value, CultureInfo.InvariantCulture));
                _cycleMs.Add(double.Parse(cycle.Groups[2].Value, CultureInfo.InvariantCulture));
            }
            else if (ReloadLine().Match(line) is { Success: true } reload)
            {
                _reloadMs.Add(double.Parse(reload.Groups[1].Value, CultureInfo.InvariantCulture));
            }

            if (!_ready.Task.IsCompleted)
            {
                foreach (var mark in _readyMarks)
                {
                    if (line.Contains(mark, StringComparison.Ordinal))
                    {
                        _seenMarks.Add(mark);
                    }
                }

                if (_seenMarks.Count == _readyMarks.Length)
                {
                    _ready.TrySetResult();
                }
            }
        }
    }

    [GeneratedRegex(@"Passwd file rewritten with \d+ devices in ([0-9.]+) ms and reloaded in ([0-9.]+) ms")]
    private static partial Regex CycleLine();

    [GeneratedRegex(@"reloaded the projected files in ([0-9.]+) ms")]
    private static partial Regex ReloadLine();
}
