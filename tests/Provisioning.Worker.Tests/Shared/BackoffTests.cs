using Microsoft.Extensions.Time.Testing;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Tests.Shared;

public class BackoffTests
{
    private static readonly Backoff _schedule = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30));

    [Theory]
    [InlineData(1, 200)]
    [InlineData(2, 400)]
    [InlineData(3, 800)]
    [InlineData(8, 25_600)]
    [InlineData(9, 30_000)]
    [InlineData(1_000_000, 30_000)]
    public void The_delay_doubles_from_the_first_until_the_cap(int attempt, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), _schedule.Delay(attempt));

    /// <summary>The short schedule of the reload probe and the passwd file lock (2 ms doubled up to 50 ms).</summary>
    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(5, 32)]
    [InlineData(6, 50)]
    [InlineData(int.MaxValue, 50)]
    public void A_short_schedule_reaches_its_cap_in_a_few_attempts(int attempt, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), new Backoff(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(50)).Delay(attempt));

    [Fact]
    public void No_failure_yet_means_no_delay() => Assert.Equal(TimeSpan.Zero, _schedule.Delay(0));

    [Fact]
    public async Task The_wait_ends_when_the_clock_has_moved_by_the_delay_and_not_before()
    {
        // Given
        var clock = new FakeTimeProvider();
        var waiting = _schedule.WaitAsync(3, clock, CancellationToken.None);

        // When
        clock.Advance(TimeSpan.FromMilliseconds(799));
        await Task.Yield();

        // Then
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_cancelled_wait_returns_false_instead_of_throwing()
    {
        using var stopping = new CancellationTokenSource();
        var waiting = _schedule.WaitAsync(5, new FakeTimeProvider(), stopping.Token);

        await stopping.CancelAsync();

        Assert.False(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
