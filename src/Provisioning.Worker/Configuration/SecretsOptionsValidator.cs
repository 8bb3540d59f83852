using Microsoft.Extensions.Options;

namespace Provisioning.Worker.Configuration;

/// <summary>The key ring must be a directory only the worker's user can enter, or one it can create so.</summary>
internal sealed class SecretsOptionsValidator : IValidateOptions<SecretsOptions>
{
    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public ValidateOptionsResult Validate(string? name, SecretsOptions options)
    {
        const string Key = SecretsOptions.SectionName + ":KeyRingDirectory";
        if (string.IsNullOrWhiteSpace(options.KeyRingDirectory))
        {
            return ValidateOptionsResult.Fail($"{Key} is required (the directory of the key that encrypts undelivered passwords; by default '{SecretsOptions.DefaultDirectoryName}' beside Mosquitto:PasswdFile).");
        }

        var directory = Path.GetFullPath(options.KeyRingDirectory);
        if (File.Exists(directory))
        {
            return ValidateOptionsResult.Fail($"{Key} is '{options.KeyRingDirectory}', a file; it must be a directory.");
        }

        if (Directory.Exists(directory) && !OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(directory);
            return (mode & GroupOrOthers) != 0
                ? ValidateOptionsResult.Fail($"{Key} is '{options.KeyRingDirectory}' with mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}; the key ring must be 0700 (only the worker's user may enter it).")
                : ValidateOptionsResult.Success;
        }

        return Path.GetDirectoryName(directory) is { } parent && !Directory.Exists(parent)
            ? ValidateOptionsResult.Fail($"{Key} is '{options.KeyRingDirectory}', but its parent directory '{parent}' does not exist.")
            : ValidateOptionsResult.Success;
    }
}
