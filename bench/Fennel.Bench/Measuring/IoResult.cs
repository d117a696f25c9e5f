using System.Diagnostics;

namespace Fennel.Bench.Measuring;

/// <summary>The I/O scenario's figures: the short-sleep drains of every system, then the many-sleepers runs.</summary>
/// <param name="Drains">Each drain of <c>bench.sleep</c> tasks.</param>
/// <param name="Sleepers">Each run of many tasks sleeping at once on one worker.</param>
/// <param name="Ceiling">
/// The same sleeps with no broker and no worker: <c>-c</c> loops in this process, each awaiting <c>Task.Delay</c> in turn,
/// the best of three — what the machine's timers allow, so what no worker can beat. Null when no drain ran.
/// </param>
internal sealed record IoResult(IReadOnlyList<IoDrain> Drains, IReadOnlyList<SleepersResult> Sleepers, TimerCeiling? Ceiling);

/// <summary>The timer ceiling: <paramref name="Tasks"/> delays at <paramref name="Concurrency"/> took <paramref name="Elapsed"/>.</summary>
internal sealed record TimerCeiling(int Tasks, int Concurrency, TimeSpan Sleep, TimeSpan Elapsed)
{
    /// <summary>Delays per second.</summary>
    public double Rate => Tasks / Elapsed.TotalSeconds;

    /// <summary>
    /// Measures it: <paramref name="concurrency"/> loops sharing <paramref name="tasks"/> delays of <paramref name="sleep"/>,
    /// three times, keeping the fastest (the first also warms the timer and the JIT).
    /// </summary>
    public static async Task<TimerCeiling> MeasureAsync(int tasks, int concurrency, TimeSpan sleep, CancellationToken cancellationToken)
    {
        var best = TimeSpan.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var left = tasks;
            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Decrement(ref left) >= 0) await Task.Delay(sleep, cancellationToken).ConfigureAwait(false);
            }, cancellationToken))).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (elapsed < best) best = elapsed;
        }
        return new TimerCeiling(tasks, concurrency, sleep, best);
    }
}

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
