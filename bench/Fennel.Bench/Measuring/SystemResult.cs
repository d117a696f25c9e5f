using Fennel.Bench.Processes;

namespace Fennel.Bench.Measuring;

/// <summary>Everything measured for one column of the report: Fennel, Celery with threads, Celery with prefork.</summary>
/// <param name="Name">The column, e.g. "Celery prefork".</param>
/// <param name="Idle">The worker's memory after start-up settled, before any task.</param>
/// <param name="IdleConfiguration">The worker whose idle memory was read, e.g. "async -c 8".</param>
/// <param name="Single">Enqueue one task at a time, each awaited.</param>
/// <param name="Bulk">Enqueue with the system's bulk API, or null when it has none; the drains' fills are further samples.</param>
/// <param name="Drains">One drain per worker configuration tried.</param>
/// <param name="RoundTrip">Round-trip latency against the first configuration's worker.</param>
internal sealed record SystemResult(string Name, MemoryUsage Idle, string IdleConfiguration, EnqueueResult Single, EnqueueResult? Bulk,
    IReadOnlyList<DrainResult> Drains, LatencyResult RoundTrip)
{
    /// <summary>The fastest drain.</summary>
    public DrainResult BestDrain => Drains.MaxBy(d => d.Rate) ?? throw new InvalidOperationException($"{Name} has no drain.");

    /// <summary>Every sample of one-at-a-time sending: the measurement itself and the drains' fills made that way.</summary>
    public IReadOnlyList<EnqueueResult> SingleSamples => [Single, .. Drains.Select(d => d.Fill).Where(f => f.Method == Single.Method)];

    /// <summary>Every sample of bulk sending: the measurement itself and the drains' fills made that way.</summary>
    public IReadOnlyList<EnqueueResult> BulkSamples => Bulk is null ? [] : [Bulk, .. Drains.Select(d => d.Fill).Where(f => f.Method == Bulk.Method)];

    /// <summary>The median rate of some samples (the mean of the middle two for an even count); NaN for none.</summary>
    public static double MedianRate(IReadOnlyList<EnqueueResult> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) return double.NaN;
        var rates = samples.Select(s => s.Rate).Order().ToArray();
        return rates.Length % 2 == 1 ? rates[rates.Length / 2] : (rates[rates.Length / 2 - 1] + rates[rates.Length / 2]) / 2;
    }

    /// <summary>The configuration the round trips ran against.</summary>
    public string RoundTripConfiguration => Drains[0].Configuration;
}
