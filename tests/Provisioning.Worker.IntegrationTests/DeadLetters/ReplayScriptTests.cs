using Provisioning.Worker.IntegrationTests.Infrastructure;

namespace Provisioning.Worker.IntegrationTests.DeadLetters;

/// <summary><c>scripts/replay-dead-letters.sh</c> as an operator runs it; pointed at the tests' worker build so it builds nothing.</summary>
[Collection(ServicesCollection.Name)]
public sealed class ReplayScriptTests(ServiceEndpoints endpoints)
{
    private static string Script
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                var script = Path.Combine(directory.FullName, "scripts", "replay-dead-letters.sh");
                if (File.Exists(script))
                {
                    return script;
                }
            }

            throw new FileNotFoundException("scripts/replay-dead-letters.sh not found above " + AppContext.BaseDirectory);
        }
    }

    [Fact]
    public async Task Help_explains_the_commands_and_exit_codes_without_building_anything()
    {
        var result = await ProcessRunner.RunAsync("bash", [Script, "--help"], environment: new Dictionary<string, string?> { ["PATH"] = "/usr/bin:/bin" });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("usage: scripts/replay-dead-letters.sh <command> --queue <queue>", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("exit codes: 0 done; 1 a --message-id is not in the queue", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task It_passes_the_arguments_through_and_returns_the_tools_exit_code()
    {
        // Given
        await using var vhost = await TestVirtualHost.CreateAsync(endpoints);
        await using var queues = await TestQueues.ConnectAsync(vhost.AmqpUri, TestQueues.Source, TestQueues.Error);
        var ids = await queues.DeadLetterAsync(2);
        var environment = new Dictionary<string, string?> { ["PROVISIONING_WORKER_DLL"] = WorkerProcess.DllPath, ["RabbitMq__Uri"] = vhost.AmqpUri.ToString() };

        // When
        var replayed = await ProcessRunner.RunAsync("bash", [Script, "replay", "--queue", TestQueues.Error, "--message-id", ids[0]], environment: environment);
        var missing = await ProcessRunner.RunAsync("bash", [Script, "purge", "--queue", TestQueues.Error, "--message-id", "gone"], environment: environment);

        // Then
        Assert.True(replayed.ExitCode == 0, replayed.ToString());
        Assert.Contains($"replayed {ids[0]}", replayed.Stdout, StringComparison.Ordinal);
        Assert.Equal([ids[0]], (await queues.PeekAllAsync(TestQueues.Source)).Select(m => m.MessageId));
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Equal([ids[1]], (await queues.PeekAllAsync(TestQueues.Error)).Select(m => m.MessageId));
    }
}
