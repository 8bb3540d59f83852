using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;

namespace Provisioning.Worker.Secrets;

/// <summary>
/// At start, before anything is consumed: encrypts and decrypts a probe, so the key ring is created (or read) now and a
/// directory the worker cannot use stops it here, naming the key, rather than failing every registration later.
/// </summary>
public sealed partial class KeyRingCheck(PasswordProtector protector, IOptions<SecretsOptions> options, ILogger<KeyRingCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var directory = options.Value.KeyRingDirectory;
        try
        {
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
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Undelivered passwords are encrypted at rest with the key ring in {KeyRingDirectory}")]
        public static partial void Ready(ILogger logger, string keyRingDirectory);
    }
}
