using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Shared;

namespace Provisioning.Worker.Secrets;

/// <summary>
/// At start, before anything is consumed: encrypts and decrypts a probe, so the key ring is created (or read) now and a
/// directory the worker cannot use stops it here, naming the key, rather than failing every registration later.
/// </summary>
/// <remarks>
/// Under an exclusive lock on a file in the key ring's directory: instances that start together on an empty key ring
/// would otherwise each create a key of their own and, until Data Protection re-reads the directory, not read the
/// others' replies (they would re-issue them: nothing lost, but devices rotated for nothing). With the lock the first
/// creates the key and the others find it.
/// </remarks>
public sealed partial class KeyRingCheck(PasswordProtector protector, IOptions<SecretsOptions> options, TimeProvider clock, ILogger<KeyRingCheck> logger) : IHostedService
{
    private static readonly TimeSpan _lockTimeout = TimeSpan.FromSeconds(30);
    private static readonly Backoff _lockRetry = new(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(200));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var directory = options.Value.KeyRingDirectory;
        try
        {
            await using var exclusive = await LockAsync(KeyRing.Open(directory).FullName, cancellationToken);
            const string Probe = "key ring probe";
            if (protector.Unprotect(protector.Protect(Probe)) != Probe)
            {
                throw new InvalidOperationException("the probe did not decrypt to itself");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or UnreadableSecretException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{SecretsOptions.SectionName}:KeyRingDirectory is '{directory}', but the key ring there cannot be used: {e.Message}", e);
        }

        Log.Ready(logger, directory);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<FileStream> LockAsync(string directory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, ".lock");
        var deadline = clock.GetUtcNow() + _lockTimeout;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // FileShare.None is an exclusive flock on Linux, held until the stream is disposed.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (clock.GetUtcNow() < deadline)
            {
                await _lockRetry.WaitAsync(attempt, clock, cancellationToken);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Undelivered passwords are encrypted at rest with the key ring in {KeyRingDirectory}")]
        public static partial void Ready(ILogger logger, string keyRingDirectory);
    }
}
