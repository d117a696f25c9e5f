using System.Globalization;

namespace Fennel.Bench.Brokers;

/// <summary>
/// What the broker did during a measurement: commands by name with their time, and its CPU time in user mode (commands
/// and scripts) and in the kernel (socket reads and writes).
/// </summary>
internal sealed record RedisUsage(IReadOnlyDictionary<string, CommandStat> Commands, double UserSeconds, double SystemSeconds)
{
    public double CpuSeconds => UserSeconds + SystemSeconds;

    public long TotalCalls => Commands.Values.Sum(c => c.Calls);

    /// <summary>
    /// The commands called at least once per hundred tasks, most called first, with calls and Redis time per task:
    /// <c>evalsha 1.01 (24.1 µs), hset 2.00 (1.9 µs)</c>. A script's time includes the commands it calls.
    /// </summary>
    public string PerTask(int tasks) => string.Join(", ", Commands.Where(c => c.Value.Calls * 100 >= tasks)
        .OrderByDescending(c => c.Value.Calls).ThenBy(c => c.Key, StringComparer.Ordinal)
        .Select(c => string.Create(CultureInfo.InvariantCulture,
            $"{c.Key} {c.Value.Calls / (double)tasks:0.00} ({c.Value.Microseconds / (double)tasks:0.0} µs)")));
}
