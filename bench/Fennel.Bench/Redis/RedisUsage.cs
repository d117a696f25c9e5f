using System.Globalization;

namespace Fennel.Bench.Redis;

/// <summary>What the broker did during a measurement: commands by name, and its CPU time.</summary>
internal sealed record RedisUsage(IReadOnlyDictionary<string, long> Calls, double CpuSeconds)
{
    public long TotalCalls => Calls.Values.Sum();

    /// <summary>The commands called at least once per hundred tasks, most called first: <c>evalsha 1.05, hset 1.00</c>.</summary>
    public string PerTask(int tasks) => string.Join(", ", Calls.Where(c => c.Value * 100 >= tasks).OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
        .Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {c.Value / (double)tasks:0.00}")));
}
