using System.Text.RegularExpressions;

namespace Provisioning.Worker.IntegrationTests.Alerts;

/// <summary>
/// compose/prometheus/ as the tests read it: where it is, the expressions of its rules and the series they name.
/// A PromQL expression is reduced to its metric names by removing strings, label matchers, ranges and the label
/// lists of by/without/on/ignoring/group_*; what is left and not called like a function, nor a keyword, is a metric.
/// </summary>
public static partial class RuleFiles
{
    /// <summary>Series Prometheus makes itself for every target; the worker does not serve them.</summary>
    public static readonly IReadOnlySet<string> PrometheusSeries = new HashSet<string>(StringComparer.Ordinal) { "up", "scrape_duration_seconds", "scrape_samples_scraped" };

    private static readonly HashSet<string> _keywords = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "atan2",
        "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group", "inf", "nan",
    };

    public static string Directory
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "compose", "prometheus");
                if (System.IO.Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException("compose/prometheus not found above " + AppContext.BaseDirectory);
        }
    }

    public static IReadOnlyList<string> RuleFilePaths => System.IO.Directory.GetFiles(Path.Combine(Directory, "rules"), "*.yml").Order(StringComparer.Ordinal).ToList();

    public static IReadOnlyList<string> TestFilePaths => System.IO.Directory.GetFiles(Path.Combine(Directory, "tests"), "*.yml").Order(StringComparer.Ordinal).ToList();

    /// <summary>Every <c>expr:</c> of the files (one line each: a block scalar fails here rather than being half read).</summary>
    public static IReadOnlyList<string> Expressions(IEnumerable<string> paths) =>
        paths.SelectMany(File.ReadAllLines)
            .Select(line => Expr().Match(line))
            .Where(match => match.Success)
            .Select(match =>
            {
                var expression = match.Groups["expr"].Value.Trim();
                Assert.False(expression is "" or "|" or ">" or "|-" or ">-", $"write each expr on one line: '{match.Value}'");
                return expression;
            })
            .ToList();

    /// <summary>The names of the recording rules (<c>record:</c>), which other rules may use.</summary>
    public static IReadOnlySet<string> RecordedNames(IEnumerable<string> paths) =>
        paths.SelectMany(File.ReadAllLines).Select(line => Record().Match(line)).Where(m => m.Success).Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.Ordinal);

    public static IReadOnlySet<string> MetricNames(string expression)
    {
        var stripped = Strings().Replace(expression, " ");
        stripped = Matchers().Replace(stripped, " ");
        stripped = Ranges().Replace(stripped, " ");
        stripped = LabelLists().Replace(stripped, " ");
        return Identifiers().Matches(stripped)
            .Where(m => !m.Groups["call"].Success && !_keywords.Contains(m.Groups["name"].Value))
            .Select(m => m.Groups["name"].Value)
            .ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^\s*(?:-\s*)?expr:\s*(?<expr>.*)$")]
    private static partial Regex Expr();

    [GeneratedRegex(@"^\s*(?:-\s*)?record:\s*(?<name>\S+)\s*$")]
    private static partial Regex Record();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""|'(?:[^'\\]|\\.)*'")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex LabelLists();

    [GeneratedRegex(@"(?<![A-Za-z0-9_:.])(?<name>[A-Za-z_:][A-Za-z0-9_:]*)(?<call>\s*\()?")]
    private static partial Regex Identifiers();
}
