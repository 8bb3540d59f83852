using System.Diagnostics;
using System.Globalization;
using Provisioning.Worker.Health;
using Provisioning.Worker.Mosquitto;
using Provisioning.Worker.Testing;

namespace Provisioning.Worker.Tests.Health;

/// <summary>A broker frozen with SIGSTOP while nothing needs a reload: /health/ready must not wait for the next registration to notice.</summary>
public sealed class StoppedBrokerProbeTests : IDisposable
{
    private readonly string _pidFile = Path.Combine(Path.GetTempPath(), $"stopped-{Guid.NewGuid():N}.pid");
    private readonly Process _broker = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;

    [Fact]
    public async Task A_stopped_process_is_reported_and_a_continued_one_is_not()
    {
        // Given
        await File.WriteAllTextAsync(_pidFile, _broker.Id.ToString(CultureInfo.InvariantCulture));
        await SignalAsync("-STOP");
        await WaitForStateAsync(stopped: true);

        // When
        var (pid, problem) = await MosquittoSignalProbe.CheckAsync(_pidFile, CancellationToken.None);

        // Then
        Assert.Equal(_broker.Id, pid);
        Assert.NotNull(problem);
        Assert.Contains("is stopped (SIGSTOP", problem, StringComparison.Ordinal);

        await SignalAsync("-CONT");
        await WaitForStateAsync(stopped: false);
        Assert.Null((await MosquittoSignalProbe.CheckAsync(_pidFile, CancellationToken.None)).Problem);
    }

    [Theory]
    [InlineData("Name:\tmosquitto\nState:\tT (stopped)\nPid:\t7\n", true)]
    [InlineData("State:\tt (tracing stop)\n", true)]
    [InlineData("State:\tS (sleeping)\n", false)]
    [InlineData("State:\tR (running)\n", false)]
    [InlineData("Name:\tmosquitto\n", null)]
    public void The_state_line_tells_a_stopped_process(string status, bool? stopped) =>
        Assert.Equal(stopped, SignalDisposition.StoppedIn(status));

    public void Dispose()
    {
        _broker.Kill();
        _broker.WaitForExit();
        _broker.Dispose();
        File.Delete(_pidFile);
    }

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [signal, _broker.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    private Task WaitForStateAsync(bool stopped) =>
        Eventually.TrueAsync(
            () => SignalDisposition.Stopped(_broker.Id) == stopped, TimeSpan.FromSeconds(5), $"the process did not become {(stopped ? "stopped" : "running")}", poll: TimeSpan.FromMilliseconds(10));
}
