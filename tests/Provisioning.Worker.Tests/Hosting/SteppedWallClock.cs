using Microsoft.Extensions.Time.Testing;

namespace Provisioning.Worker.Tests.Hosting;

/// <summary>
/// A machine whose wall clock is stepped (NTP correcting a large offset, an operator, a restored VM) while its
/// monotonic clock runs on: what <see cref="TimeProvider.System"/> gives a real process on Linux, where
/// <see cref="TimeProvider.GetUtcNow"/> reads CLOCK_REALTIME and jumps with the step, while
/// <see cref="TimeProvider.GetTimestamp"/> (Stopwatch) and the timers behind <c>Task.Delay</c> and
/// <c>CancellationTokenSource</c> count CLOCK_MONOTONIC and do not. <see cref="Monotonic"/> drives the time that
/// really passes; <see cref="Step"/> is how far the wall clock was moved.
/// </summary>
internal sealed class SteppedWallClock(FakeTimeProvider monotonic) : TimeProvider
{
    public FakeTimeProvider Monotonic => monotonic;

    public TimeSpan Step { get; set; }

    public override DateTimeOffset GetUtcNow() => monotonic.GetUtcNow() + Step;

    public override long GetTimestamp() => monotonic.GetTimestamp();

    public override long TimestampFrequency => monotonic.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => monotonic.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        monotonic.CreateTimer(callback, state, dueTime, period);
}
