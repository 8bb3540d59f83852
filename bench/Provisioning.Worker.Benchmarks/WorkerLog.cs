using System.Globalization;
using System.Text.RegularExpressions;
using Provisioning.Worker.Testing;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// The output of the worker process (<see cref="WorkerProcess"/>) as the benchmark reads it: every line into a log
/// file, the last lines kept for error messages, the projection's own timings (rewrite + reload per cycle) and the
/// marks that tell the worker is ready.
/// </summary>
public sealed partial class WorkerLog : IAsyncDisposable
{
    private static readonly string[] _readyMarks = ["Passwd projection of broker", "Application started", "Bus started"];

    private readonly StreamWriter _log;
    private readonly Lock _lock = new();
    private readonly Queue<string> _tail = new();
    private readonly List<double> _cycleMs = [];
    private readonly List<double> _writeMs = [];
    private readonly List<double> _reloadMs = [];
    private readonly HashSet<string> _seenMarks = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WorkerLog(string path)
    {
        FilePath = path;
        _log = new StreamWriter(path, append: true) { AutoFlush = false };
    }

    public string FilePath { get; }

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
    public async Task WaitReadyAsync(WorkerProcess worker, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var exited = worker.WaitForExitAsync(cancellationToken);
        var done = await Task.WhenAny(_ready.Task, exited, Task.Delay(timeout, cancellationToken));
        if (done != _ready.Task)
        {
            throw new InvalidOperationException(
                $"the worker {(exited.IsCompleted ? "exited" : "did not become ready within " + timeout)} (log {FilePath}):\n{Tail}");
        }
    }

    public void ThrowIfExited(WorkerProcess worker)
    {
        if (worker.ExitCode is { } exitCode)
        {
            throw new InvalidOperationException($"the worker exited with {exitCode} (log {FilePath}):\n{Tail}");
        }
    }

    /// <summary>Takes one line of the worker's output (the <see cref="WorkerProcess.Start"/> callback).</summary>
    public void OnLine(string line)
    {
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

    /// <summary>Flushes and closes the file; call it once the worker has exited (no more lines come).</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            _log.Flush();
        }

        await _log.DisposeAsync();
    }

    [GeneratedRegex(@"Passwd file rewritten with \d+ devices in ([0-9.]+) ms and reloaded in ([0-9.]+) ms")]
    private static partial Regex CycleLine();

    [GeneratedRegex(@"reloaded the projected files in ([0-9.]+) ms")]
    private static partial Regex ReloadLine();
}
