using Microsoft.Extensions.Time.Testing;
using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Tests.Projection;

public class ReloadPacerTests
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-12-05T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void The_first_change_after_a_quiet_spell_is_reloaded_at_once()
    {
        var pacer = new ReloadPacer(0.3, _clock);
        Assert.Equal(TimeSpan.Zero, pacer.Remaining);

        // Given a reload of 300 ms, then a quiet spell longer than the gap it asks for (700 ms)
        pacer.Reloaded(TimeSpan.FromMilliseconds(300));
        _clock.Advance(TimeSpan.FromSeconds(5));

        // Then the next reload need not wait
        Assert.Equal(TimeSpan.Zero, pacer.Remaining);
        Assert.True(pacer.WaitAsync(CancellationToken.None).IsCompleted);
    }

    [Fact]
    public void Right_after_a_reload_the_next_waits_stall_times_one_minus_share_over_share()
    {
        var pacer = new ReloadPacer(0.3, _clock);

        pacer.Reloaded(TimeSpan.FromMilliseconds(300));
        _clock.Advance(TimeSpan.FromMilliseconds(200));

        Assert.Equal(TimeSpan.FromMilliseconds(700), pacer.Gap);
        Assert.Equal(TimeSpan.FromMilliseconds(500), pacer.Remaining);
    }

    [Fact]
    public async Task The_wait_ends_when_the_fake_clock_passes_the_gap_and_not_before()
    {
        var pacer = new ReloadPacer(0.5, _clock);
        pacer.Reloaded(TimeSpan.FromMilliseconds(400));

        var wait = pacer.WaitAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromMilliseconds(399));
        Assert.False(wait.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(1));

        await wait.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.True(wait.IsCompletedSuccessfully);
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.1)]
    [InlineData(1.0)]
    public async Task Under_sustained_load_reloads_never_take_more_than_the_share_of_any_window(double share)
    {
        // Given: changes arrive all the time, and reloads stall the broker for varying times
        var pacer = new ReloadPacer(share, _clock);
        var random = new Random(20);
        var start = _clock.GetUtcNow();
        var busy = new List<(DateTimeOffset From, DateTimeOffset To)>();

        // When: the projection loop runs for 200 reloads, each waiting for the pacer first
        for (var i = 0; i < 200; i++)
        {
            var wait = pacer.WaitAsync(CancellationToken.None);
            while (!wait.IsCompleted)
            {
                _clock.Advance(TimeSpan.FromMilliseconds(1));
            }

            await wait;
            var stall = TimeSpan.FromMilliseconds(random.Next(5, 400));
            var from = _clock.GetUtcNow();
            _clock.Advance(stall);
            busy.Add((from, _clock.GetUtcNow()));
            pacer.Reloaded(stall);
        }

        // Then: in every window that starts at a reload and ends after the gap of a later one, busy time ≤ share
        for (var first = 0; first < busy.Count; first += 7)
        {
            for (var last = first; last < busy.Count; last += 5)
            {
                var windowEnd = busy[last].To + ((busy[last].To - busy[last].From) * ((1 - share) / share));
                var window = windowEnd - busy[first].From;
                var reloading = busy.Skip(first).Take(last - first + 1).Aggregate(TimeSpan.Zero, (sum, b) => sum + (b.To - b.From));
                Assert.True(reloading.TotalMilliseconds <= (share * window.TotalMilliseconds) + 1, $"reloads {first}..{last}: {reloading.TotalMilliseconds} ms of {window.TotalMilliseconds} ms");
            }
        }

        // And the loop did not idle needlessly: the whole run, the last reload's gap included, is busy for about the share of its time
        var total = busy[^1].To + pacer.Gap - start;
        var allBusy = busy.Aggregate(TimeSpan.Zero, (sum, b) => sum + (b.To - b.From));
        Assert.InRange(allBusy / total, share * 0.9, share + 0.001);
    }
}
