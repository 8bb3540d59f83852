namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// CPU used by some threads of a process (by name) from construction until <see cref="StopAsync"/>. Threads come and
/// go (the runtime's JIT thread exits when idle), so it polls and keeps each thread's last reading: a thread that ends
/// loses at most one poll interval, a thread that starts later counts from zero.
/// </summary>
public sealed class ThreadCpuMeter
{
    private static readonly TimeSpan _interval = TimeSpan.FromMilliseconds(250);
    private readonly int _pid;
    private readonly string _namePrefix;
    private readonly Dictionary<int, long> _start;
    private readonly Dictionary<int, long> _last;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _polling;

    public ThreadCpuMeter(int pid, string namePrefix)
    {
        _pid = pid;
        _namePrefix = namePrefix;
        _start = ProcFs.ThreadCpuTicks(pid, namePrefix);
        _last = new Dictionary<int, long>(_start);
        _polling = PollAsync(_stop.Token);
    }

    /// <summary>CPU seconds the matching threads used since construction.</summary>
    public async Task<double> StopAsync()
    {
        await _stop.CancelAsync();
        await _polling;
        _stop.Dispose();
        Poll();
        return ProcFs.TicksToSeconds(_last.Sum(t => t.Value - _start.GetValueOrDefault(t.Key)));
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Poll();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Poll()
    {
        foreach (var (thread, ticks) in ProcFs.ThreadCpuTicks(_pid, _namePrefix))
        {
            _last[thread] = ticks;
        }
    }
}
