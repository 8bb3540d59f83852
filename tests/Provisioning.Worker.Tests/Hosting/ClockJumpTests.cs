using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;
using Provisioning.Worker.Health;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Tests.Hosting;

/// <summary>
/// The worker's clock jumping (issue 14): the wall clock stepped by hours either way, and the time that really passes
/// jumping ahead at once (a suspended VM resumed, <see cref="FakeTimeProvider.Advance"/>). Waits and timeouts are
/// relative and count monotonic time, so a step of the wall clock neither ends them early nor makes them last for ever;
/// what compares wall-clock instants (the outbox's reply age, the outbox lease: docs/fault-suite.md, "Clock jumps")
/// sees the step.
/// </summary>
public class ClockJumpTests
{
    private static readonly Backoff _schedule = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30));
    private static readonly TimeSpan _hours = TimeSpan.FromHours(5);

    [Theory]
    [InlineData(5)]
    [InlineData(-5)]
    public async Task A_backoff_wait_neither_ends_early_nor_lasts_longer_when_the_wall_clock_is_stepped_by_hours(int hours)
    {
        // Given: the fourth attempt's wait, 1.6 s
        var clock = new SteppedWallClock(new FakeTimeProvider());
        var waiting = _schedule.WaitAsync(4, clock, CancellationToken.None);

        // When
        clock.Step = TimeSpan.FromHours(hours);
        clock.Monotonic.Advance(TimeSpan.FromMilliseconds(1_599));
        await Task.Yield();

        // Then
        Assert.False(waiting.IsCompleted, "the wait ended before its delay had passed");
        clock.Monotonic.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_backoff_wait_across_a_jump_of_hours_ends_once_at_the_jump()
    {
        // Given
        var clock = new FakeTimeProvider();
        var waiting = _schedule.WaitAsync(9, clock, CancellationToken.None);

        // When: hours pass at once (the process was suspended)
        clock.Advance(_hours);

        // Then: the wait is over, not rescheduled, and the next attempt's delay is still the cap
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(TimeSpan.FromSeconds(30), _schedule.Delay(10));
    }

    [Fact]
    public void No_attempt_count_makes_a_backoff_delay_negative_or_larger_than_its_cap()
    {
        foreach (var attempt in new[] { int.MinValue, -1, 0, 1, 2, 30, 31, 62, 63, 64, 1_000, int.MaxValue - 1, int.MaxValue })
        {
            var delay = _schedule.Delay(attempt);
            Assert.InRange(delay, TimeSpan.Zero, _schedule.Cap);
        }
    }

    [Fact]
    public void A_wall_clock_stepped_back_by_hours_reports_no_negative_reply_age_and_no_false_alarm()
    {
        // Given: a reply written a minute ago by the wall clock before the step
        var before = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
        var backlog = new OutboxBacklog(1, 0, before.AddMinutes(-1));

        // When
        var result = OutboxHealthCheck.Evaluate(backlog, before - _hours, new HealthOptions(), HealthStatus.Unhealthy);

        // Then
        Assert.Equal(HealthStatus.Healthy, result.Status);
        Assert.Equal(0.0, result.Data["oldestReplyAgeSeconds"]);
    }

    [Fact]
    public void A_wall_clock_stepped_forward_by_hours_makes_waiting_replies_look_hours_old_until_they_are_delivered()
    {
        // Given
        var before = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
        var backlog = new OutboxBacklog(1, 0, before.AddSeconds(-1));

        // When
        var result = OutboxHealthCheck.Evaluate(backlog, before + _hours, new HealthOptions(), HealthStatus.Unhealthy);

        // Then: the age is what the wall clock says; /health/ready is 503 until the backlog written before the step drains
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("MaxReplyAge", result.Description, StringComparison.Ordinal);
    }
}
