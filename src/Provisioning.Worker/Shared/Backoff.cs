namespace Provisioning.Worker.Shared;

/// <summary>
/// The worker's one retry schedule: the first delay, doubled at each further attempt, never above the cap. Every
/// loop that waits before trying again (dispatcher, projection, migrations, the reload probe, the file lock) uses it,
/// with its own first delay and cap, and waits on the injected <see cref="TimeProvider"/> so tests drive the time.
/// </summary>
public readonly record struct Backoff(TimeSpan First, TimeSpan Cap)
{
    /// <summary>The delay before attempt <paramref name="attempt"/> + 1, after <paramref name="attempt"/> failures (1 = the first failure).</summary>
    public TimeSpan Delay(int attempt)
    {
        if (attempt < 1)
        {
            return TimeSpan.Zero;
        }

        // 2^30 × any positive first delay is past every cap worth configuring; the exponent is bounded so nothing overflows.
        var scaled = First.Ticks * Math.Pow(2, Math.Min(attempt - 1, 30));
        return scaled >= Cap.Ticks ? Cap : TimeSpan.FromTicks((long)scaled);
    }

    /// <summary>Waits <see cref="Delay"/> on <paramref name="clock"/>; false when cancelled first (the caller is stopping), never throws for that.</summary>
    public async Task<bool> WaitAsync(int attempt, TimeProvider clock, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Delay(attempt), clock, cancellationToken);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
