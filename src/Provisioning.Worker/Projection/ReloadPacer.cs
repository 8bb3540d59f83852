namespace Provisioning.Worker.Projection;

/// <summary>
/// Keeps the broker's share of time spent reloading at most <c>Mosquitto:MaxReloadShare</c>: Mosquitto serves nothing
/// while it reloads (docs/design.md, "What the running fleet feels"), so after a reload that stalled it for S the next
/// one waits until S × (1 − share) / share has passed since it ended. Every reload is then followed by enough quiet
/// that, over any stretch of sustained load, reloads take at most the share. A change that comes after a quiet spell
/// longer than that is reloaded at once; changes that arrive during the wait are carried by the one reload after it.
/// </summary>
public sealed class ReloadPacer(double maxShare, TimeProvider clock)
{
    private long? _lastEnded;
    private TimeSpan _lastStall;

    /// <summary>A reload that stalled the broker for <paramref name="stall"/> has just ended.</summary>
    public void Reloaded(TimeSpan stall)
    {
        _lastEnded = clock.GetTimestamp();
        _lastStall = stall;
    }

    /// <summary>The quiet the last reload asks for after it ended.</summary>
    public TimeSpan Gap => _lastStall * ((1 - maxShare) / maxShare);

    /// <summary>How long the next reload must still wait; zero after a quiet spell.</summary>
    public TimeSpan Remaining
    {
        get
        {
            if (_lastEnded is not { } ended)
            {
                return TimeSpan.Zero;
            }

            var left = Gap - clock.GetElapsedTime(ended);
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }

    public Task WaitAsync(CancellationToken cancellationToken)
    {
        // Whole milliseconds, rounded up: timers may fire up to a millisecond early, and the share is a bound.
        var remaining = TimeSpan.FromMilliseconds(Math.Ceiling(Remaining.TotalMilliseconds));
        return remaining > TimeSpan.Zero ? Task.Delay(remaining, clock, cancellationToken) : Task.CompletedTask;
    }
}
