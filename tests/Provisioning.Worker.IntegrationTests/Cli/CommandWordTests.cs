using System.Diagnostics;

namespace Provisioning.Worker.IntegrationTests.Cli;

/// <summary>
/// The first word of the built binary: a mistyped command exits 2 without starting the worker; the host's own
/// arguments still start it. A worker start is recognised by the validation of its options, made to fail on purpose
/// through the very argument under test, so no server is needed and nothing keeps running.
/// </summary>
public sealed class CommandWordTests
{
    private const string InvalidPrefetch = "RabbitMq:PrefetchCount is 0";

    [Theory]
    [InlineData("devcies", "list")]
    [InlineData("device", "show", "acme", "pump-7")]
    [InlineData("Passwd", "list")]
    [InlineData("worker")]
    public async Task An_unknown_first_word_prints_the_usage_and_exits_2_without_starting_the_worker(params string[] args)
    {
        // When
        var clock = Stopwatch.StartNew();
        var result = await WorkerProcess.RunToExitAsync(args, timeout: TimeSpan.FromSeconds(30));

        // Then
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"error: unknown command \"{args[0]}\"; the worker was not started.", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("usage: Provisioning.Worker [run]", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Application started", result.Stdout + result.Stderr, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("--RabbitMq:PrefetchCount=0")]
    [InlineData("--RabbitMq:PrefetchCount", "0")]
    [InlineData("RabbitMq:PrefetchCount=0")]
    [InlineData("/RabbitMq:PrefetchCount=0")]
    [InlineData("--urls", "http://127.0.0.1:0", "--RabbitMq:PrefetchCount=0")]
    [InlineData("run", "--RabbitMq:PrefetchCount=0")]
    public async Task Host_arguments_start_the_worker_and_reach_its_configuration(params string[] args)
    {
        // When
        var result = await WorkerProcess.RunToExitAsync(args, timeout: TimeSpan.FromSeconds(60));

        // Then: the worker host ran and refused the override it was given, naming the key
        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains(InvalidPrefetch, result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("help")]
    [InlineData("--help")]
    public async Task Help_prints_the_usage_on_stdout_and_exits_0(string word)
    {
        var result = await WorkerProcess.RunToExitAsync([word]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Provisioning.Worker devices show <tenant> <device>", result.Stdout, StringComparison.Ordinal);
        Assert.Empty(result.Stderr);
    }
}
