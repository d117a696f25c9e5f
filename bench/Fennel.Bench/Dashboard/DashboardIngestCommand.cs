using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Fennel.Cli.CommandLine;
using Fennel.Dashboard.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fennel.Bench.Dashboard;

/// <summary>
/// <c>dashboard-ingest</c>: the Fennel side of the dashboard ingest benchmark (<c>bench/dashboard-ingest.sh</c>). Starts
/// the dashboard as <c>fennel dashboard</c> does (a slim ASP.NET Core host, Kestrel on a loopback port,
/// <c>AddFennelDashboard</c>: its event feed gives every event to the cluster state, the task metrics and the SQLite
/// task history), says <c>ready</c>, and waits until the history has applied (committed) the expected number of task
/// events. Prints one JSON line: when that happened, its CPU time so far and the peak RSS.
/// </summary>
internal static class DashboardIngestCommand
{
    public const string Name = "dashboard-ingest";

    public static CommandSpec Spec { get; } = new(Name,
        "Runs the dashboard's event ingest (cluster state + SQLite history) until it has applied --events task events; prints JSON.",
        [
            new(["--events"], "Task events to wait for (received + started + succeeded of every task)", "N"),
            new(["--history"], "The SQLite history file (deleted first, with its -wal and -shm)", "PATH"),
            new(["--max-tasks"], "The history's MaxTasks (default 100000, the dashboard's)", "N"),
            new(["--timeout"], "Give up after this many seconds (default 600)", "SECONDS"),
        ],
        [], RunAsync);

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand command, CancellationToken cancellationToken)
    {
        var expected = command.GetInt("events", min: 1) ?? throw new UsageException("--events is required.");
        var path = command.Get("history") ?? throw new UsageException("--history is required.");
        var maxTasks = command.GetInt("max-tasks", min: 1);
        var timeout = command.GetSeconds("timeout") ?? TimeSpan.FromSeconds(600);
        foreach (var file in new[] { path, path + "-wal", path + "-shm" }) File.Delete(file);

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(app.LoggerFactory);
        builder.Services.AddFennelDashboard(app, o =>
        {
            o.History.Path = path;
            if (maxTasks is { } max) o.History.MaxTasks = max;
        });
        await using var web = builder.Build();
        web.MapFennelDashboard("/");
        await web.StartAsync(cancellationToken);
        var history = await web.Services.GetRequiredService<DashboardServices>().History;
        // The feed subscribed in StartAsync; the run still waits until Redis counts the subscription.
        await Console.Out.WriteLineAsync("ready");
        await Console.Out.FlushAsync(cancellationToken);

        using var self = Process.GetCurrentProcess();
        var rssReady = ProcStatusKiB("VmRSS");
        var deadline = Stopwatch.StartNew();
        double? firstAppliedAt = null;
        long applied;
        while ((applied = history.TaskEventsApplied) < expected)
        {
            if (applied > 0 && firstAppliedAt is null) firstAppliedAt = UnixNow();
            if (deadline.Elapsed > timeout)
            {
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"dashboard-ingest: only {applied} of {expected} task events applied after {timeout.TotalSeconds:0} s"));
                await web.StopAsync(CancellationToken.None);
                return 1;
            }
            // A 2 ms poll of an interlocked counter: next to nothing against the ingest it watches.
            await Task.Delay(2, cancellationToken);
        }
        var doneAt = UnixNow();
        var machineBusy = MachineBusyTicks();
        self.Refresh();
        var cpu = self.TotalProcessorTime;
        var peak = ProcStatusKiB("VmHWM");
        var byState = await history.CountByStateAsync(cancellationToken);
        var result = new Dictionary<string, object?>
        {
            ["system"] = "fennel",
            ["done_at"] = doneAt,
            ["first_applied_at"] = firstAppliedAt,
            ["task_events_applied"] = applied,
            ["history_by_state"] = byState,
            ["machine_busy_ticks"] = machineBusy,
            // The process's CPU since it started; the run subtracts what /proc/PID/stat said just before publishing.
            ["cpu_total_seconds"] = cpu.TotalSeconds,
            ["rss_ready_kib"] = rssReady,
            ["peak_rss_kib"] = peak,
            ["history_bytes"] = new[] { path, path + "-wal" }.Where(File.Exists).Sum(f => new FileInfo(f).Length),
        };
        await Console.Out.WriteLineAsync(JsonSerializer.Serialize(result));
        await Console.Out.FlushAsync(cancellationToken);
        await web.StopAsync(CancellationToken.None);
        return 0;
    }

    private static double UnixNow() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>CPU time every process of the machine has used since boot, in clock ticks (<c>/proc/stat</c>: all but idle and iowait).</summary>
    private static long MachineBusyTicks()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // cpu user nice system idle iowait irq softirq steal
        return new[] { 1, 2, 3, 6, 7, 8 }.Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture));
    }

    /// <summary>A <c>kB</c> line of <c>/proc/self/status</c>: <c>VmRSS</c> now, <c>VmHWM</c> its peak.</summary>
    private static long ProcStatusKiB(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
            return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"/proc/self/status has no {field}.");
    }
}
