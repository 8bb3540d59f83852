using System.Globalization;

namespace Provisioning.Worker.Benchmarks;

/// <summary>The table the benchmark prints: one row per figure, grouped by phase.</summary>
public sealed class Report
{
    private readonly List<(string Phase, string Metric, string Value)> _rows = [];

    public void Add(string phase, string metric, string value)
    {
        _rows.Add((phase, metric, value));
        Console.Error.WriteLine($"bench: {phase}: {metric}: {value}");
    }

    public void Add(string phase, string metric, FormattableString value) => Add(phase, metric, value.ToString(CultureInfo.InvariantCulture));

    public void Print(TextWriter output)
    {
        var phaseWidth = Math.Max(5, _rows.Max(r => r.Phase.Length));
        var metricWidth = Math.Max(6, _rows.Max(r => r.Metric.Length));
        var valueWidth = Math.Max(5, _rows.Max(r => r.Value.Length));
        output.WriteLine($"| {"phase".PadRight(phaseWidth)} | {"metric".PadRight(metricWidth)} | {"value".PadRight(valueWidth)} |");
        output.WriteLine($"|{new string('-', phaseWidth + 2)}|{new string('-', metricWidth + 2)}|{new string('-', valueWidth + 2)}|");
        string? previous = null;
        foreach (var (phase, metric, value) in _rows)
        {
            var shown = phase == previous ? string.Empty : phase;
            previous = phase;
            output.WriteLine($"| {shown.PadRight(phaseWidth)} | {metric.PadRight(metricWidth)} | {value.PadRight(valueWidth)} |");
        }
    }
}

/// <summary>The whole machine's CPU use between two readings of /proc/stat: how busy the shared 2 cores were.</summary>
public sealed class MachineCpu
{
    private readonly (long Busy, long Total) _start = Read();

    public static int Cores => Environment.ProcessorCount;

    /// <summary>Busy share of all cores since construction, 0–1.</summary>
    public double BusyShare()
    {
        var end = Read();
        var total = end.Total - _start.Total;
        return total <= 0 ? double.NaN : (double)(end.Busy - _start.Busy) / total;
    }

    private static (long Busy, long Total) Read()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var idle = fields[3] + (fields.Length > 4 ? fields[4] : 0);
        var total = fields.Take(8).Sum();
        return (total - idle, total);
    }
}
