using Microsoft.Extensions.Options;

namespace Provisioning.Worker.Configuration;

/// <summary>
/// The checks of <see cref="DeviceCredentialOptions"/>, naming the configuration key at fault so an operator knows what
/// to fix. With <see cref="BrokerTargetOptionsValidator"/> it checks the whole <c>Mosquitto</c> section.
/// </summary>
/// <param name="role">Only a standalone worker tells devices <c>Mosquitto:BrokerHost</c>: a central one tells them their
/// group's endpoint (<c>Brokers:Groups</c>), and an agent tells devices nothing.</param>
internal sealed class DeviceCredentialOptionsValidator(Hosting.WorkerRole role) : IValidateOptions<DeviceCredentialOptions>
{
    public ValidateOptionsResult Validate(string? name, DeviceCredentialOptions options)
    {
        var failures = new List<string>();
        const string S = DeviceCredentialOptions.SectionName;
        if (role == Hosting.WorkerRole.Standalone && string.IsNullOrWhiteSpace(options.BrokerHost))
        {
            failures.Add($"{S}:BrokerHost is required (the host devices are told to connect to).");
        }

        if (options.BrokerPort is < 1 or > 65535)
        {
            failures.Add($"{S}:BrokerPort is {options.BrokerPort}; it must be between 1 and 65535.");
        }

        if (options.HashIterations is < 1 or > 10_000_000)
        {
            failures.Add($"{S}:HashIterations is {options.HashIterations}; it must be between 1 and 10000000.");
        }

        if (options.OperatorHashIterations is < 1 or > 10_000_000)
        {
            failures.Add($"{S}:OperatorHashIterations is {options.OperatorHashIterations}; it must be between 1 and 10000000.");
        }

        foreach (var (index, problem) in Topics.TopicRules.Problems(options.EffectiveDeviceTopics))
        {
            failures.Add($"{S}:DeviceTopics:{index} is '{options.EffectiveDeviceTopics[index]}': {problem}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// The checks of <see cref="BrokerTargetOptions"/>, naming the configuration key at fault so an operator knows what to
/// fix. With <see cref="DeviceCredentialOptionsValidator"/> it checks the whole <c>Mosquitto</c> section.
/// </summary>
/// <param name="role">A central worker keeps no broker: the file and pid keys are then not its business. An agent must
/// manage the acl_file and reach its own broker.</param>
internal sealed class BrokerTargetOptionsValidator(Hosting.WorkerRole role) : IValidateOptions<BrokerTargetOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerTargetOptions options)
    {
        var failures = new List<string>();
        const string S = BrokerTargetOptions.SectionName;
        if (role == Hosting.WorkerRole.Central)
        {
            // Central: devices are told their group's endpoint (Brokers:Groups), agents keep the files.
        }
        else if (string.IsNullOrWhiteSpace(options.PasswdFile))
        {
            failures.Add($"{S}:PasswdFile is required (the password file Mosquitto reads).");
        }
        else if (Path.GetDirectoryName(Path.GetFullPath(options.PasswdFile)) is { } directory && !Directory.Exists(directory))
        {
            failures.Add($"{S}:PasswdFile is '{options.PasswdFile}', but its directory '{directory}' does not exist.");
        }

        if (role != Hosting.WorkerRole.Central && string.IsNullOrWhiteSpace(options.PidFile))
        {
            failures.Add($"{S}:PidFile is required (Mosquitto's pid file, for the reload signal).");
        }

        if (role == Hosting.WorkerRole.Agent && !options.ManagesTopics)
        {
            failures.Add($"{S}:AclFile is required for an agent: in a fleet devices are told their topics, and every broker must enforce them.");
        }

        if (role == Hosting.WorkerRole.Agent && string.IsNullOrWhiteSpace(options.EffectiveProbeHost))
        {
            failures.Add($"{S}:ProbeHost is required for an agent (where it reaches its own broker to prove a reload).");
        }

        if (options.ProbePort is < 0 or > 65535)
        {
            failures.Add($"{S}:ProbePort is {options.ProbePort}; it must be between 1 and 65535 (0: BrokerPort).");
        }

        var mode = BrokerTargetOptions.ParseFileMode(options.PasswdFileMode);
        if (mode is null)
        {
            failures.Add($"{S}:PasswdFileMode is '{options.PasswdFileMode}'; it must be an octal mode such as 0640.");
        }
        else if (!BrokerTargetOptions.IsStrictEnough(mode.Value))
        {
            failures.Add($"{S}:PasswdFileMode is '{options.PasswdFileMode}'; it must be 0640 or stricter (no access for others, no write for the group).");
        }

        if (!(options.MaxReloadShare is > 0 and <= 1))
        {
            failures.Add($"{S}:MaxReloadShare is {options.MaxReloadShare.ToString(System.Globalization.CultureInfo.InvariantCulture)}; it must be more than 0 and at most 1 (the share of the broker's time spent reloading).");
        }

        if (string.IsNullOrWhiteSpace(options.ProbeUsername) || options.ProbeUsername.Contains(':', StringComparison.Ordinal) || Devices.DeviceIdentity.IsDeviceUsername(options.ProbeUsername))
        {
            failures.Add($"{S}:ProbeUsername is '{options.ProbeUsername}'; it must be a Mosquitto username without ':' that is not of a device's form (tenant/device or tenant.device).");
        }

        if (options.ReloadTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{S}:ReloadTimeout is {options.ReloadTimeout}; it must be positive.");
        }

        ValidateAclFile(options, failures);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateAclFile(BrokerTargetOptions options, List<string> failures)
    {
        const string S = BrokerTargetOptions.SectionName;
        if (!options.ManagesTopics)
        {
            return;
        }

        var aclFile = Path.GetFullPath(options.AclFile);
        if (Path.GetDirectoryName(aclFile) is { } directory && !Directory.Exists(directory))
        {
            failures.Add($"{S}:AclFile is '{options.AclFile}', but its directory '{directory}' does not exist.");
        }

        if (!string.IsNullOrWhiteSpace(options.PasswdFile) && string.Equals(aclFile, Path.GetFullPath(options.PasswdFile), StringComparison.Ordinal))
        {
            failures.Add($"{S}:AclFile is the same file as {S}:PasswdFile; they must be two files.");
        }

        if (options.ProbeUsername.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            failures.Add($"{S}:ProbeUsername is '{options.ProbeUsername}'; with {S}:AclFile set it must have no blanks (it is written on a 'user' line).");
        }
    }
}
