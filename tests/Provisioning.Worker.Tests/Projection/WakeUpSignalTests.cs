using Provisioning.Worker.Projection;

namespace Provisioning.Worker.Tests.Projection;

public class WakeUpSignalTests
{
    [Fact]
    public async Task Rings_before_the_wait_coalesce_into_one_wake_up()
    {
        var signal = new ProjectionWakeUp();
        signal.Notify();
        signal.Notify();
        signal.Notify();

        Assert.True(await signal.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.False(await signal.WaitAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None));
    }

    [Fact]
    public async Task A_ring_during_the_wait_wakes_the_waiter()
    {
        var signal = new ProjectionWakeUp();
        var waiting = signal.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

        signal.Notify();

        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
