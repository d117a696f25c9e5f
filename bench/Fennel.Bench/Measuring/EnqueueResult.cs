namespace Fennel.Bench.Measuring;

/// <summary>How fast tasks were put on the broker: from the first call to the broker holding the last task.</summary>
/// <param name="Method">How they were sent, e.g. "DelayAsync, awaited one at a time".</param>
/// <param name="Tasks">How many.</param>
/// <param name="Elapsed">The time it took.</param>
internal sealed record EnqueueResult(string Method, int Tasks, TimeSpan Elapsed)
{
    public double Rate => Tasks / Elapsed.TotalSeconds;
}
