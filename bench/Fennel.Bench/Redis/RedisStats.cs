using System.Globalization;

namespace Fennel.Bench.Redis;

/// <summary>
/// A snapshot of <c>INFO commandstats</c> and <c>INFO cpu</c>: calls per command and the server's CPU seconds so far.
/// Two snapshots around a measurement give what the broker did for it (<see cref="Since"/>), without resetting the
/// server's counters. The run's own INFO calls are left out.
/// </summary>
internal sealed record RedisStats(IReadOnlyDictionary<string, long> Calls, double CpuSeconds)
{
    /// <summary>Reads INFO output: <c>cmdstat_lpush:calls=20000,usec=...</c> and <c>used_cpu_sys:1.23</c>.</summary>
    public static RedisStats Parse(string info)
    {
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        double cpu = 0;
        foreach (var raw in info.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var fields = line[(colon + 1)..].Split(',').Select(f => f.Split('=', 2)).Where(f => f.Length == 2)
                    .ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
                var command = line["cmdstat_".Length..colon];
                if (command != "info" && fields.TryGetValue("calls", out var count)) calls[command] = long.Parse(count, CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("used_cpu_sys:", StringComparison.Ordinal) || line.StartsWith("used_cpu_user:", StringComparison.Ordinal))
            {
                cpu += double.Parse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
            }
        }
        return new RedisStats(calls, cpu);
    }

    /// <summary>What happened between <paramref name="before"/> and this snapshot.</summary>
    public RedisUsage Since(RedisStats before)
    {
        ArgumentNullException.ThrowIfNull(before);
        var calls = Calls.Select(c => (c.Key, Count: c.Value - before.Calls.GetValueOrDefault(c.Key)))
            .Where(c => c.Count > 0)
            .ToDictionary(c => c.Key, c => c.Count, StringComparer.Ordinal);
        return new RedisUsage(calls, CpuSeconds - before.CpuSeconds);
    }
}
