using System.Globalization;

namespace Fennel.Bench.Measuring;

/// <summary>
/// How a Celery worker is started: its pool and concurrency with Celery's throughput advice (no gossip, mingle or
/// heartbeat, which Fennel has none of) and optionally a prefetch multiplier; or, with <see cref="Defaults"/>, plain
/// <c>celery worker</c> with every setting at Celery's default (prefork, one process per core, prefetch multiplier 4,
/// gossip, mingle and heartbeat on).
/// </summary>
internal sealed record CeleryWorker(string Pool, int Concurrency, int? PrefetchMultiplier = null, bool Defaults = false)
{
    /// <summary>What the report calls it: <c>-P threads -c 8 --prefetch-multiplier 256</c>, or <c>all defaults (-P prefork -c 2)</c>.</summary>
    public string Configuration => Defaults
        ? $"all defaults (-P prefork -c {Environment.ProcessorCount}, prefetch ×4, gossip, mingle, heartbeat)"
        : $"-P {Pool} -c {Concurrency}" + (PrefetchMultiplier is { } m ? $" --prefetch-multiplier {m}" : "");

    /// <summary>The arguments after <c>python3 -m celery -A bench_tasks worker</c>.</summary>
    public IReadOnlyList<string> Arguments(string logLevel) => Defaults
        ? ["-l", logLevel, "-Q", "celery", "-n", "bench-defaults@%h"]
        :
        [
            "-P", Pool, "-c", Concurrency.ToString(CultureInfo.InvariantCulture), "-l", logLevel, "-Q", "celery", "-n", $"bench-{Pool}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            .. PrefetchMultiplier is { } m ? new[] { "--prefetch-multiplier", m.ToString(CultureInfo.InvariantCulture) } : [],
        ];
}
