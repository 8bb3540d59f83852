namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>The scenarios' one wait helper: polls a condition until it holds, failing with a message at the deadline.</summary>
public static class Waiting
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(20);
        }
    }
}
