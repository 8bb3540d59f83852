using System.Globalization;
using System.Text.RegularExpressions;

namespace Provisioning.Worker.IntegrationTests.Infrastructure;

/// <summary>Reading the worker's <c>/metrics</c> (Prometheus text format): the tests' one parser of it.</summary>
public static partial class PrometheusText
{
    /// <summary>The value of the first sample of <paramref name="name"/> whose labels contain all of <paramref name="labels"/>; null when there is none.</summary>
    public static double? Value(string exposition, string name, params string[] labels)
    {
        foreach (Match sample in Sample().Matches(exposition))
        {
            if (sample.Groups["name"].Value == name && labels.All(label => sample.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            {
                return double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>The names of every series with a sample.</summary>
    public static HashSet<string> SeriesNames(string exposition) =>
        Sample().Matches(exposition).Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
