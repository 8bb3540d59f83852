using Microsoft.Extensions.Options;
using Npgsql;

namespace Provisioning.Worker.Configuration;

/// <summary>Checks that name the configuration key at fault, so an operator knows what to fix.</summary>
/// <param name="role">A central worker keeps no broker: the file, pid and endpoint keys are then not its business.</param>
internal sealed class MosquittoOptionsValidator(Hosting.WorkerRole role) : IValidateOptions<MosquittoOptions>
{
    public ValidateOptionsResult Validate(string? name, MosquittoOptions options)
    {
        var failures = new List<string>();
        const string S = MosquittoOptions.SectionName;
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

        if (role == Hosting.WorkerRole.Standalone && string.IsNullOrWhiteSpace(options.BrokerHost))
        {
            failures.Add($"{S}:BrokerHost is required (the host devices are told to connect to).");
        }

        if (role == Hosting.WorkerRole.Agent && !options.ManagesTopics)
        {
            failures.Add($"{S}:AclFile is required for an agent: in a fleet devices are told their topics, and every broker must enforce them.");
        }

        if (role == Hosting.WorkerRole.Agent && string.IsNullOrWhiteSpace(options.EffectiveProbeHost))
        {
            failures.Add($"{S}:ProbeHost is required for an agent (where it reaches its own broker to prove a reload).");
        }

        if (options.BrokerPort is < 1 or > 65535)
        {
            failures.Add($"{S}:BrokerPort is {options.BrokerPort}; it must be between 1 and 65535.");
        }

        if (options.ProbePort is < 0 or > 65535)
        {
            failures.Add($"{S}:ProbePort is {options.ProbePort}; it must be between 1 and 65535 (0: BrokerPort).");
        }

        var mode = MosquittoOptions.ParseFileMode(options.PasswdFileMode);
        if (mode is null)
        {
            failures.Add($"{S}:PasswdFileMode is '{options.PasswdFileMode}'; it must be an octal mode such as 0640.");
        }
        else if (!MosquittoOptions.IsStrictEnough(mode.Value))
        {
            failures.Add($"{S}:PasswdFileMode is '{options.PasswdFileMode}'; it must be 0640 or stricter (no access for others, no write for the group).");
        }

        if (options.HashIterations is < 1 or > 10_000_000)
        {
            failures.Add($"{S}:HashIterations is {options.HashIterations}; it must be between 1 and 10000000.");
        }

        if (options.OperatorHashIterations is < 1 or > 10_000_000)
        {
            failures.Add($"{S}:OperatorHashIterations is {options.OperatorHashIterations}; it must be between 1 and 10000000.");
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

        ValidateTopics(options, failures);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateTopics(MosquittoOptions options, List<string> failures)
    {
        const string S = MosquittoOptions.SectionName;
        foreach (var (index, problem) in Topics.TopicRules.Problems(options.EffectiveDeviceTopics))
        {
            failures.Add($"{S}:DeviceTopics:{index} is '{options.EffectiveDeviceTopics[index]}': {problem}.");
        }

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

internal sealed class RabbitMqOptionsValidator : IValidateOptions<RabbitMqOptions>
{
    public ValidateOptionsResult Validate(string? name, RabbitMqOptions options)
    {
        var failures = new List<string>();
        const string S = RabbitMqOptions.SectionName;
        if (!System.Uri.TryCreate(options.Uri, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps" or "rabbitmq" or "rabbitmqs"))
        {
            failures.Add($"{S}:Uri is '{RedactUserInfo(options.Uri)}'; it must be an absolute amqp:// or amqps:// URI such as amqp://user:pass@host:5672/vhost.");
        }

        if (options.PrefetchCount is < 1 or > 10_000)
        {
            failures.Add($"{S}:PrefetchCount is {options.PrefetchCount}; it must be between 1 and 10000.");
        }

        if (options.ConcurrentMessageLimit is < 1 or > 10_000)
        {
            failures.Add($"{S}:ConcurrentMessageLimit is {options.ConcurrentMessageLimit}; it must be between 1 and 10000.");
        }

        if (options.RetryLimit is < 0 or > 100)
        {
            failures.Add($"{S}:RetryLimit is {options.RetryLimit}; it must be between 0 and 100.");
        }

        if (options.RedeliveryLimit is < 1 or > 100)
        {
            failures.Add($"{S}:RedeliveryLimit is {options.RedeliveryLimit}; it must be between 1 and 100.");
        }

        if (options.RetryMinInterval <= TimeSpan.Zero || options.RetryMaxInterval < options.RetryMinInterval)
        {
            failures.Add($"{S}:RetryMinInterval and {S}:RetryMaxInterval must be positive with min <= max.");
        }

        if (options.Heartbeat < TimeSpan.Zero || options.Heartbeat > TimeSpan.FromSeconds(ushort.MaxValue))
        {
            failures.Add($"{S}:Heartbeat is {options.Heartbeat}; it must be between 00:00:00 (off) and {TimeSpan.FromSeconds(ushort.MaxValue)}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>A connection URI can carry a password: never echo it.</summary>
    internal static string RedactUserInfo(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        var at = value.LastIndexOf('@');
        var scheme = value.IndexOf("://", StringComparison.Ordinal);
        return at > 0 && scheme >= 0 && at > scheme ? string.Concat(value.AsSpan(0, scheme + 3), "***", value.AsSpan(at)) : value;
    }
}

internal sealed class ProvisioningOptionsValidator : IValidateOptions<ProvisioningOptions>
{
    public ValidateOptionsResult Validate(string? name, ProvisioningOptions options)
    {
        var failures = new List<string>();
        const string S = ProvisioningOptions.SectionName;
        RequirePositive(failures, $"{S}:InboxRetention", options.InboxRetention);
        RequirePositive(failures, $"{S}:InboxCleanupInterval", options.InboxCleanupInterval);
        RequirePositive(failures, $"{S}:PollInterval", options.PollInterval);
        RequirePositive(failures, $"{S}:OutboxLease", options.OutboxLease);
        RequirePositive(failures, $"{S}:MaxBackoff", options.MaxBackoff);
        RequirePositive(failures, $"{S}:ShutdownTimeout", options.ShutdownTimeout);
        if (options.OutboxBatchSize is < 1 or > 10_000)
        {
            failures.Add($"{S}:OutboxBatchSize is {options.OutboxBatchSize}; it must be between 1 and 10000.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void RequirePositive(List<string> failures, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{key} is {value}; it must be a positive duration such as 00:00:30.");
        }
    }
}

/// <summary>The connection string lives outside a section (<c>ConnectionStrings:Provisioning</c>); it is checked like the others.</summary>
public sealed class DatabaseOptions
{
    public const string ConnectionStringName = "Provisioning";

    public string ConnectionString { get; set; } = string.Empty;
}

internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        const string Key = "ConnectionStrings:" + DatabaseOptions.ConnectionStringName;
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail($"{Key} is required (an Npgsql connection string such as Host=localhost;Database=provisioning;Username=...;Password=...).");
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            return string.IsNullOrWhiteSpace(builder.Host)
                ? ValidateOptionsResult.Fail($"{Key} has no Host.")
                : ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail($"{Key} is not a valid Npgsql connection string: {e.Message}");
        }
    }
}
