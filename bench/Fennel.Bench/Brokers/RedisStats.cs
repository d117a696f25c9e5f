using System.Globalization;

namespace Fennel.Bench.Brokers;

/// <summary>
/// A snapshot of <c>INFO commandstats</c> and <c>INFO cpu</c>: calls and time per command, and the server's CPU seconds
/// so far. Two snapshots around a measurement give what the broker did for it (<see cref="Since"/>), without resetting
/// the server's counters. The run's own INFO calls are left out.
/// </summary>
internal sealed record RedisStats(IReadOnlyDictionary<string, CommandStat> Commands, double UserSeconds, double SystemSeconds)
{
    /// <summary>Reads INFO output: <c>cmdstat_lpush:calls=20000,usec=76461,...</c> and <c>used_cpu_sys:1.23</c>.</summary>
    public static RedisStats Parse(string info)
    {
        var commands = new Dictionary<string, CommandStat>(StringComparer.Ordinal);
        double user = 0, system = 0;
        foreach (var raw in info.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var fields = line[(colon + 1)..].Split(',').Select(f => f.Split('=', 2)).Where(f => f.Length == 2)
                    .ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
                var command = line["cmdstat_".Length..colon];
                if (command != "info" && fields.TryGetValue("calls", out var calls) && fields.TryGetValue("usec", out var usec))
                {
                    commands[command] = new CommandStat(long.Parse(calls, CultureInfo.InvariantCulture), long.Parse(usec, CultureInfo.InvariantCulture));
                }
            }
            else if (line.StartsWith("used_cpu_user:", StringComparison.Ordinal))
            {
                user = double.Parse(line["used_cpu_user:".Length..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("used_cpu_sys:", StringComparison.Ordinal))
            {
                system = double.Parse(line["used_cpu_sys:".Length..], CultureInfo.InvariantCulture);
            }
        }
        return new RedisStats(commands, user, system);
    }

    /// <summary>What happened between <paramref name="before"/> and this snapshot.</summary>
    public RedisUsage Since(RedisStats before)
    {
        ArgumentNullException.ThrowIfNull(before);
        var commands = Commands.Select(c => (c.Key, Stat: c.Value - before.Commands.GetValueOrDefault(c.Key)))
            .Where(c => c.Stat.Calls > 0)
            .ToDictionary(c => c.Key, c => c.Stat, StringComparer.Ordinal);
        return new RedisUsage(commands, UserSeconds - before.UserSeconds, SystemSeconds - before.SystemSeconds);
    }
}

/// <summary>One command's count and the time Redis spent in it (a script's time includes the commands it calls).</summary>
internal readonly record struct CommandStat(long Calls, long Microseconds)
{
    public static CommandStat operator -(CommandStat after, CommandStat before) =>
        new(after.Calls - before.Calls, after.Microseconds - before.Microseconds);
}
