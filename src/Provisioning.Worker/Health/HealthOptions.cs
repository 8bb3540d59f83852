using Microsoft.Extensions.Options;

namespace Provisioning.Worker.Health;

/// <summary>The <c>Health</c> section: the bounds <c>/health/ready</c> holds the worker to.</summary>
public sealed class HealthOptions
{
    public const string SectionName = "Health";

    /// <summary>Replies not yet delivered (waiting for the broker or for RabbitMQ) above which the worker is not ready.</summary>
    public int MaxOutboxBacklog { get; set; } = 10_000;

    /// <summary>How old the oldest undelivered reply may be before the worker is not ready.</summary>
    public TimeSpan MaxReplyAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long one check (the PostgreSQL query, the outbox query) may take before it counts as failed.</summary>
    public TimeSpan CheckTimeout { get; set; } = TimeSpan.FromSeconds(3);
}

internal sealed class HealthOptionsValidator : IValidateOptions<HealthOptions>
{
    public ValidateOptionsResult Validate(string? name, HealthOptions options)
    {
        var failures = new List<string>();
        const string S = HealthOptions.SectionName;
        if (options.MaxOutboxBacklog < 1)
        {
            failures.Add($"{S}:MaxOutboxBacklog is {options.MaxOutboxBacklog}; it must be at least 1.");
        }

        if (options.MaxReplyAge <= TimeSpan.Zero)
        {
            failures.Add($"{S}:MaxReplyAge is {options.MaxReplyAge}; it must be a positive duration such as 00:05:00.");
        }

        if (options.CheckTimeout <= TimeSpan.Zero || options.CheckTimeout > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{S}:CheckTimeout is {options.CheckTimeout}; it must be positive and at most 00:01:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
