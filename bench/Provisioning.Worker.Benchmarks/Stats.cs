namespace Provisioning.Worker.Benchmarks;

/// <summary>Latencies in milliseconds, summarised by nearest-rank percentiles.</summary>
public sealed class Stats
{
    private readonly double[] _sorted;

    public Stats(IEnumerable<double> values)
    {
        _sorted = [.. values];
        Array.Sort(_sorted);
    }

    public int Count => _sorted.Length;

    /// <summary>The values, sorted.</summary>
    public IReadOnlyList<double> Values => _sorted;

    public double Max => _sorted.Length == 0 ? double.NaN : _sorted[^1];

    public double Mean => _sorted.Length == 0 ? double.NaN : _sorted.Average();

    public double Percentile(double p)
    {
        if (_sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100 * _sorted.Length);
        return _sorted[Math.Clamp(rank - 1, 0, _sorted.Length - 1)];
    }

    public string Summary() => Count == 0
        ? "n/a"
        : $"p50 {Percentile(50):0.0} / p95 {Percentile(95):0.0} / p99 {Percentile(99):0.0} / max {Max:0.0} ms";
}
