using System.Globalization;
using System.Runtime.InteropServices;

namespace Fennel.Bench.Processes;

/// <summary>
/// A process and its descendants as Linux shows them in /proc: a prefork Celery worker is its main process plus one
/// child per slot, and all of them are the worker.
/// </summary>
internal static partial class ProcessTree
{
    private const int ScClockTicks = 2; // _SC_CLK_TCK

    private static readonly double ClockTicksPerSecond = NativeMethods.Sysconf(ScClockTicks) is > 0 and var ticks ? ticks : 100;

    /// <summary>
    /// The process and every live descendant, from each thread's <c>/proc/PID/task/TID/children</c>: a few small reads,
    /// cheap enough to sample every few milliseconds during a drain.
    /// </summary>
    public static IReadOnlyList<int> Of(int root)
    {
        var tree = new List<int> { root };
        for (var i = 0; i < tree.Count; i++)
        {
            try
            {
                foreach (var thread in Directory.EnumerateDirectories($"/proc/{tree[i]}/task"))
                {
                    var children = File.ReadAllText(Path.Combine(thread, "children"));
                    foreach (var child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        tree.Add(int.Parse(child, CultureInfo.InvariantCulture));
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // It exited while we looked.
            }
        }
        return tree;
    }

    /// <summary>Resident memory (VmRSS) and proportional set size (Pss) summed over the tree.</summary>
    public static MemoryUsage Memory(int root)
    {
        long rss = 0, pss = 0;
        var tree = Of(root);
        foreach (var pid in tree)
        {
            rss += ReadKiB($"/proc/{pid}/status", "VmRSS:");
            pss += ReadKiB($"/proc/{pid}/smaps_rollup", "Pss:");
        }
        return new MemoryUsage(rss, pss, tree.Count);
    }

    /// <summary>User plus system CPU time used so far by the tree's live processes.</summary>
    public static TimeSpan CpuTime(int root)
    {
        var (user, system) = CpuTimes(root);
        return user + system;
    }

    /// <summary>User and system CPU time used so far by the tree's live processes.</summary>
    public static (TimeSpan User, TimeSpan System) CpuTimes(int root)
    {
        long user = 0, system = 0;
        foreach (var pid in Of(root))
        {
            if (ReadCpuTicks(pid) is not var (u, s)) continue;
            user += u;
            system += s;
        }
        return (TimeSpan.FromSeconds(user / ClockTicksPerSecond), TimeSpan.FromSeconds(system / ClockTicksPerSecond));
    }

    private static (long User, long System)? ReadCpuTicks(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // it exited
        }
        // "pid (comm) state ppid ... utime stime ...": comm may hold spaces and parentheses, so count from the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture), long.Parse(fields[12], CultureInfo.InvariantCulture));
    }

    private static long ReadKiB(string path, string field)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (!line.StartsWith(field, StringComparison.Ordinal)) continue;
                var value = line[field.Length..].Trim();
                return long.Parse(value[..value.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            }
        }
        catch (IOException)
        {
            // it exited
        }
        return 0;
    }

    private static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "sysconf")]
        internal static partial long Sysconf(int name);
    }
}
