using System.Diagnostics;
using System.Globalization;
using Provisioning.Worker.Health;

namespace Provisioning.Worker.Tests.Health;

public sealed class MosquittoSignalProbeTests : IDisposable
{
    private readonly string _pidFile = Path.Combine(Path.GetTempPath(), $"probe-{Guid.NewGuid():N}.pid");

    [Fact]
    public async Task A_live_process_of_this_user_can_be_signalled()
    {
        await File.WriteAllTextAsync(_pidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");

        var (pid, problem) = await MosquittoSignalProbe.CheckAsync(_pidFile, CancellationToken.None);

        Assert.Null(problem);
        Assert.Equal(Environment.ProcessId, pid);
    }

    [Fact]
    public async Task A_stale_pid_file_is_reported()
    {
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await exited.WaitForExitAsync();
        await File.WriteAllTextAsync(_pidFile, exited.Id.ToString(CultureInfo.InvariantCulture));

        var (_, problem) = await MosquittoSignalProbe.CheckAsync(_pidFile, CancellationToken.None);

        Assert.StartsWith($"No process has the pid {exited.Id}", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "Cannot read Mosquitto's pid file")]
    [InlineData("1", "does not hold a pid other than 1")]
    [InlineData("mosquitto", "does not hold a pid other than 1")]
    public async Task A_missing_or_unusable_pid_file_is_reported(string? content, string expected)
    {
        if (content is not null)
        {
            await File.WriteAllTextAsync(_pidFile, content);
        }

        var (_, problem) = await MosquittoSignalProbe.CheckAsync(_pidFile, CancellationToken.None);

        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    public void Dispose() => File.Delete(_pidFile);
}
