using System.Diagnostics;
using System.Text;

namespace Provisioning.Worker.Testing;

public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs a program to its end with optional stdin, capturing both streams, killing it at a timeout.</summary>
public static class ProcessRunner
{
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> args, string? stdin = null, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{fileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not exit within {timeout}; stderr so far: {Partial(stderr)}");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    private static string Partial(Task<string> output) => output.IsCompletedSuccessfully ? output.Result : "(still open)";

    /// <summary>Collects one of the process's streams, line by line, and hands each line to <paramref name="onLine"/> too.</summary>
    internal static StringBuilder Capture(Process process, bool stdout, Action<string>? onLine = null)
    {
        var builder = new StringBuilder();
        DataReceivedEventHandler handler = (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (builder)
                {
                    builder.AppendLine(e.Data);
                }

                onLine?.Invoke(e.Data);
            }
        };
        if (stdout)
        {
            process.OutputDataReceived += handler;
        }
        else
        {
            process.ErrorDataReceived += handler;
        }

        return builder;
    }
}
