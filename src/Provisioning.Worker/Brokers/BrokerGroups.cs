using System.Text.RegularExpressions;

namespace Provisioning.Worker.Brokers;

/// <summary>Names in the broker fleet (docs/fleet.md): groups of replicas, and the brokers in them.</summary>
public static partial class BrokerGroups
{
    /// <summary>The group of a worker that projects to its local broker itself (no <c>Brokers:Groups</c>), and of every tenant placed before groups existed.</summary>
    public const string Default = "default";

    /// <summary>The broker name of that worker's own projection.</summary>
    public const string DefaultBroker = "default";

    public const int MaxNameLength = 63;

    /// <summary>A group or broker name: letters, digits, '-', '_' and '.', starting with a letter or digit, at most 63 characters.</summary>
    public static bool IsValidName(string? name) => name is { Length: > 0 and <= MaxNameLength } && NamePattern().IsMatch(name);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
