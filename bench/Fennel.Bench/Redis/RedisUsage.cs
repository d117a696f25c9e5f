using System.Globalization;

namespace Fennel.Bench.Redis;

/// <summary>What the broker did during a measurement: commands by name, and its CPU time.</summary>
internal sealed record RedisUsage(IReadOnlyDictionary<string, long> Calls, double CpuSeconds)
{
    public long TotalCalls => Calls.Values.Sum();

    /// <summary>The most called commands, per task: <c>lmove 1.00, evalsha 1.00</c>.</summary>
    public string TopPerTask(int tasks, int count = 4) => string.Join(", ", Calls.OrderByDescending(c => c.Value).Take(count)
        .Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {c.Value / (double)tasks:0.00}")));
}
