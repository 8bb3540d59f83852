namespace Provisioning.Worker.IntegrationTests.Faults;

/// <summary>The <c>_error</c> queues of a scenario that dead-letters on purpose, and the operator's replay that heals them.</summary>
public static class DeadLetterReplay
{
    public static async Task<long> CountAsync(FaultWorld world)
    {
        long count = 0;
        foreach (var queue in InvariantChecker.ErrorQueues)
        {
            count += await world.Queues.CountAsync(queue) ?? 0;
        }

        return count;
    }

    /// <summary>
    /// Replays the <c>_error</c> queues with the operator's tool, <c>dead-letters replay</c> run as a process, until every
    /// message has its reply: messages still in their retries when the database came back reach <c>_error</c> only later,
    /// so one pass may not be enough.
    /// </summary>
    public static async Task<int> UntilHealedAsync(FaultWorld world, IReadOnlyList<PublishedMessage> published)
    {
        var moved = 0;
        await Eventually.TrueAsync(
            async () =>
            {
                moved += await ReplayWithToolAsync(world, "device-registered_error");
                moved += await ReplayWithToolAsync(world, "device-deleted_error");
                var replied = world.Replies.All.Select(r => r.InitiatorId).ToHashSet();
                return published.All(m => replied.Contains(m.Id));
            },
            TimeSpan.FromSeconds(90),
            "replays did not heal every message",
            world.Diagnostics,
            TimeSpan.FromSeconds(1));
        return moved;
    }

    public static async Task<int> ReplayWithToolAsync(FaultWorld world, string queue)
    {
        if (await world.Queues.CountAsync(queue) is null)
        {
            return 0; // MassTransit declares an _error queue only when it first dead-letters
        }

        var result = await WorkerProcess.RunToExitAsync(["dead-letters", "replay", "--queue", queue], world.WorkerEnvironment());
        Assert.True(result.ExitCode == 0, $"dead-letters replay failed: {result}");
        var summary = System.Text.RegularExpressions.Regex.Match(result.Stdout, @"(\d+) messages? replayed from");
        Assert.True(summary.Success, $"dead-letters replay printed no summary: {result}");
        return int.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
