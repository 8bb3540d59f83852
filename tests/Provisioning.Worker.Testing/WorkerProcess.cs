using System.Diagnostics;
using System.Text;

namespace Provisioning.Worker.Testing;

/// <summary>
/// The built worker run as a real process, as it runs in production: <c>dotnet Provisioning.Worker.dll</c> from the
/// output directory of the tests or the benchmark (their project reference copies the dll, its deps.json and
/// runtimeconfig.json there). Inherited <c>Mosquitto__*</c> variables are removed so only what the caller passes
/// configures the process.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout;
    private readonly StringBuilder _stderr;

    private WorkerProcess(Process process, StringBuilder stdout, StringBuilder stderr)
    {
        _process = process;
        _stdout = stdout;
        _stderr = stderr;
    }

    public static string DllPath
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "Provisioning.Worker.dll");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"{path} is missing: the test project must reference src/Provisioning.Worker", path);
            }

            if (!File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")))
            {
                throw new FileNotFoundException("Provisioning.Worker.runtimeconfig.json is not beside the tests", Path.ChangeExtension(path, ".runtimeconfig.json"));
            }

            return path;
        }
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code once the process has exited, else null.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    public string Stdout { get { lock (_stdout) { return _stdout.ToString(); } } }

    public string Stderr { get { lock (_stderr) { return _stderr.ToString(); } } }

    /// <summary>The dotnet host running the tests (DOTNET_HOST_PATH under <c>dotnet test</c>), else the one on PATH.</summary>
    public static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Runs the worker with <paramref name="args"/> to its exit.</summary>
    public static Task<ProcessResult> RunToExitAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null, TimeSpan? timeout = null) =>
        ProcessRunner.RunAsync(DotnetHost, [DllPath, .. args], stdin, WithoutInheritedConfiguration(environment), timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>Runs the worker through <c>sh -c</c>, for what only a shell sets up (a umask).</summary>
    public static Task<ProcessResult> RunInShellAsync(string shellPrefix, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null)
    {
        var quoted = string.Join(' ', new[] { DotnetHost, DllPath }.Concat(args).Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
        return ProcessRunner.RunAsync("/bin/sh", ["-c", $"{shellPrefix}; exec {quoted}"], stdin, WithoutInheritedConfiguration(environment), TimeSpan.FromSeconds(60));
    }

    /// <summary>Starts a long-running worker; stop it with <see cref="StopAsync"/> or <see cref="KillHard"/>.</summary>
    /// <param name="onLine">Also gets every line the worker writes, stdout and stderr, as it comes (from a thread-pool thread).</param>
    /// <param name="dll">The worker to run; null: <see cref="DllPath"/>.</param>
    public static WorkerProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, Action<string>? onLine = null, string? dll = null)
    {
        var info = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll ?? DllPath);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in WithoutInheritedConfiguration(environment))
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

        var process = new Process { StartInfo = info };
        var stdout = ProcessRunner.Capture(process, stdout: true, onLine);
        var stderr = ProcessRunner.Capture(process, stdout: false, onLine);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process, stdout, stderr);
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or an OOM kill.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }
    }

    /// <summary>SIGTERM and wait for the graceful exit; the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            var result = await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            if (result.ExitCode != 0 && !_process.HasExited)
            {
                throw new InvalidOperationException($"kill -TERM failed: {result}");
            }
        }

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            KillHard();
            throw new TimeoutException($"the worker did not stop within the timeout after SIGTERM; stderr:\n{Stderr}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        KillHard();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static Dictionary<string, string?> WithoutInheritedConfiguration(IReadOnlyDictionary<string, string?>? environment)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (key.StartsWith("Mosquitto__", StringComparison.OrdinalIgnoreCase) || key.StartsWith("Mosquitto:", StringComparison.OrdinalIgnoreCase))
            {
                result[key] = null;
            }
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            result[key] = value;
        }

        return result;
    }
}
