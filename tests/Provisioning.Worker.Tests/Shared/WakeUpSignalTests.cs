using Microsoft.Extensions.Time.Testing;
using Provisioning.Worker.Devices;

namespace Provisioning.Worker.Tests.Shared;

public class WakeUpSignalTests
{
    [Fact]
    public async Task Rings_before_the_wait_coalesce_into_one_wake_up()
    {
        // Given
        var clock = new FakeTimeProvider();
        var signal = new DeviceChangeSignal(clock);
        signal.Notify();
        signal.Notify();
        signal.Notify();

        // When
        var first = await signal.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        var second = signal.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(5));

        // Then
        Assert.True(first);
        Assert.False(await second.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_ring_during_the_wait_wakes_the_waiter()
    {
        var signal = new DeviceChangeSignal(new FakeTimeProvider());
        var waiting = signal.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

        signal.Notify();

        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task The_wait_times_out_on_the_injected_clock_not_before()
    {
        // Given
        var clock = new FakeTimeProvider();
        var signal = new DeviceChangeSignal(clock);
        var waiting = signal.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

        // When
        clock.Advance(TimeSpan.FromSeconds(29));
        await Task.Yield();

        // Then
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
