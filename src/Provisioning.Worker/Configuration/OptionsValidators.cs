using Microsoft.Extensions.Options;
using Npgsql;

namespace Provisioning.Worker.Configuration;

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
