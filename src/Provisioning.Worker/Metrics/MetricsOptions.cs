using Microsoft.Extensions.Options;

namespace Provisioning.Worker.Metrics;

/// <summary>The <c>Metrics</c> section.</summary>
public sealed class MetricsOptions
{
    public const string SectionName = "Metrics";

    /// <summary>How often the sampled gauges (outbox backlog, dead-letter queue depths) are refreshed.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(15);
}

internal sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options) =>
        options.SampleInterval < TimeSpan.FromSeconds(1) || options.SampleInterval > TimeSpan.FromHours(1)
            ? ValidateOptionsResult.Fail($"{MetricsOptions.SectionName}:SampleInterval is {options.SampleInterval}; it must be between 00:00:01 and 01:00:00.")
            : ValidateOptionsResult.Success;
}
