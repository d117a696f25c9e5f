namespace Fennel.Bench.Measuring;

/// <summary>The I/O scenario's figures: the short-sleep drains of every system, then the many-sleepers runs.</summary>
/// <param name="Drains">Each drain of <c>bench.sleep</c> tasks.</param>
/// <param name="Sleepers">Each run of many tasks sleeping at once on one worker.</param>
internal sealed record IoResult(IReadOnlyList<IoDrain> Drains, IReadOnlyList<SleepersResult> Sleepers);

/// <summary>One drain of <c>bench.sleep</c> tasks.</summary>
/// <param name="System">"Fennel", "Celery gevent", ...</param>
/// <param name="Concurrency">The worker's concurrency: with the sleep, it sets the ideal.</param>
/// <param name="Sleep">How long each task sleeps.</param>
/// <param name="Result">The drain, measured as the no-op drains are (first run = first start; with the peak running at once).</param>
internal sealed record IoDrain(string System, int Concurrency, TimeSpan Sleep, DrainResult Result)
{
    /// <summary>The least time the drain can take: waves of <see cref="Concurrency"/> tasks, one sleep each.</summary>
    public TimeSpan Ideal => Sleep * Math.Ceiling(Result.Tasks / (double)Concurrency);

    /// <summary>Tasks per second if the worker took no time of its own.</summary>
    public double IdealRate => Result.Tasks / Ideal.TotalSeconds;

    /// <summary>The measured rate (first start to last end) as a share of <see cref="IdealRate"/>.</summary>
    public double OfIdeal => Result.Rate / IdealRate;
}
