using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Health;

/// <summary>
/// The projection replaces the passwd file by writing a temporary file beside it and renaming it over: what it
/// needs is a writable directory (and a readable file, for the operators' lines it keeps). Checked by doing it:
/// a file created there and deleted on close, which also catches a read-only or full file system.
/// </summary>
public sealed class PasswdFileHealthCheck(IOptions<BrokerTargetOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var passwdFile = Path.GetFullPath(options.Value.PasswdFile);
        var directory = Path.GetDirectoryName(passwdFile)!;
        var probe = Path.Combine(directory, $".{Path.GetFileName(passwdFile)}.health-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            var create = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Options = FileOptions.DeleteOnClose,
            };
            if (!OperatingSystem.IsWindows())
            {
                create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            await using (var stream = new FileStream(probe, create))
            {
                await stream.WriteAsync(new byte[] { (byte)'\n' }, cancellationToken);
                await stream.FlushAsync(cancellationToken);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"Cannot write in {directory}, the passwd file's directory: {e.Message}");
        }

        if (File.Exists(passwdFile))
        {
            try
            {
                await using var read = new FileStream(passwdFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"Cannot read the passwd file {passwdFile}: {e.Message}");
            }
        }

        return HealthCheckResult.Healthy($"{directory} is writable");
    }
}
