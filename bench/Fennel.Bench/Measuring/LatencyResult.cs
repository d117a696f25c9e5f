namespace Fennel.Bench.Measuring;

/// <summary>Round trips (send a task, wait for its result), one after another, in microseconds.</summary>
internal sealed record LatencyResult(IReadOnlyList<double> Microseconds)
{
    private readonly double[] _sorted = [.. Microseconds.Order()];

    public int Count => _sorted.Length;

    public double P50Milliseconds => Percentile(0.50) / 1000;

    public double P99Milliseconds => Percentile(0.99) / 1000;

    public double MeanMilliseconds => _sorted.Average() / 1000;

    public double MaxMilliseconds => _sorted[^1] / 1000;

    /// <summary>The nearest-rank percentile: the smallest sample with at least <paramref name="fraction"/> of the samples at or below it.</summary>
    public double Percentile(double fraction)
    {
        if (_sorted.Length == 0) throw new InvalidOperationException("No round trips were measured.");
        var rank = (int)Math.Ceiling(fraction * _sorted.Length);
        return _sorted[Math.Clamp(rank - 1, 0, _sorted.Length - 1)];
    }
}
