using Microsoft.Extensions.Options;
using Provisioning.Worker.Brokers;

namespace Provisioning.Worker.Configuration;

/// <summary>The <c>Brokers</c> section's checks; each failure names its key (docs/fleet.md).</summary>
internal sealed class BrokersOptionsValidator : IValidateOptions<BrokersOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokersOptions options)
    {
        const string S = BrokersOptions.SectionName;
        var failures = new List<string>();
        foreach (var (group, endpoint) in options.Groups.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            if (!BrokerGroups.IsValidName(group))
            {
                failures.Add($"{S}:Groups:{group} is not a valid group name: letters, digits, '-', '_' and '.', starting with a letter or digit, at most {BrokerGroups.MaxNameLength} characters.");
            }

            if (string.IsNullOrWhiteSpace(endpoint.Host))
            {
                failures.Add($"{S}:Groups:{group}:Host is required (the endpoint the group's devices are told to connect to).");
            }

            if (endpoint.Port is < 1 or > 65535)
            {
                failures.Add($"{S}:Groups:{group}:Port is {endpoint.Port}; it must be between 1 and 65535.");
            }
        }

        foreach (var (tenant, group) in options.Tenants.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            if (!options.Groups.ContainsKey(group))
            {
                failures.Add(options.IsFleet
                    ? $"{S}:Tenants:{tenant} pins the tenant to the group '{group}', which {S}:Groups does not configure (configured: {string.Join(", ", options.Groups.Keys.Order(StringComparer.Ordinal))})."
                    : $"{S}:Tenants:{tenant} pins the tenant to the group '{group}', but {S}:Groups configures no group.");
            }
        }

        if (options.SilenceTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{S}:SilenceTimeout is {options.SilenceTimeout}; it must be positive.");
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}

/// <summary>The <c>Agent</c> section's checks.</summary>
internal sealed class AgentOptionsValidator : IValidateOptions<AgentOptions>
{
    public ValidateOptionsResult Validate(string? name, AgentOptions options)
    {
        const string S = AgentOptions.SectionName;
        var failures = new List<string>();
        if (!BrokerGroups.IsValidName(options.Broker))
        {
            failures.Add($"{S}:Broker is '{options.Broker}'; a broker name is letters, digits, '-', '_' and '.', starting with a letter or digit, at most {BrokerGroups.MaxNameLength} characters.");
        }

        if (!BrokerGroups.IsValidName(options.Group))
        {
            failures.Add($"{S}:Group is '{options.Group}'; a group name is letters, digits, '-', '_' and '.', starting with a letter or digit, at most {BrokerGroups.MaxNameLength} characters.");
        }

        if (options.MaxLag <= TimeSpan.Zero)
        {
            failures.Add($"{S}:MaxLag is {options.MaxLag}; it must be positive.");
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
