using System.Diagnostics;
using System.Globalization;

namespace Provisioning.Worker.Benchmarks;

/// <summary>
/// The seed's approach: one <c>mosquitto_passwd -b</c> per event, each reading and rewriting the whole file.
/// Timed on a copy of the file the worker rendered, so it pays for the same number of lines.
/// </summary>
public static class PasswdBaseline
{
    public static async Task<Stats> MeasureAsync(string passwdFile, string workDirectory, int sample, CancellationToken cancellationToken)
    {
        var copy = Path.Combine(workDirectory, "passwd.baseline");
        File.Copy(passwdFile, copy, overwrite: true);
        var timings = new List<double>(sample);
        try
        {
            for (var i = 0; i < sample; i++)
            {
                var info = new ProcessStartInfo("mosquitto_passwd") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
                info.ArgumentList.Add("-b");
                info.ArgumentList.Add(copy);
                info.ArgumentList.Add("bench.baseline-" + i.ToString(CultureInfo.InvariantCulture));
                info.ArgumentList.Add("baseline-password-" + i.ToString(CultureInfo.InvariantCulture));
                var started = Stopwatch.GetTimestamp();
                using var process = Process.Start(info) ?? throw new InvalidOperationException("mosquitto_passwd did not start");
                var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
                await process.StandardOutput.ReadToEndAsync(cancellationToken);
                await process.WaitForExitAsync(cancellationToken);
                timings.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"mosquitto_passwd -b exited with {process.ExitCode}: {await stderr}");
                }
            }
        }
        finally
        {
            File.Delete(copy);
        }

        return new Stats(timings);
    }
}
