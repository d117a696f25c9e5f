using System.Globalization;
using System.Text;
using Fennel.Bench.Measuring;

namespace Fennel.Bench.Report;

/// <summary>
/// The I/O scenario's report in Markdown: the machine line and the command, the drains of sleeping tasks against their
/// ideal, the many-sleepers runs with the worker's memory, and the issue's targets.
/// </summary>
internal static class IoReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <param name="machine">The machine line.</param>
    /// <param name="settings">The run's options.</param>
    /// <param name="commandLine">The command, for the report.</param>
    /// <param name="result">What was measured.</param>
    public static string Render(MachineInfo machine, BenchSettings settings, string commandLine, IoResult result)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(result);
        var sleepMs = settings.IoSleep.TotalMilliseconds;
        var text = new StringBuilder();
        text.AppendLine(Invariant, $"Measured {machine.Date:yyyy-MM-dd HH:mm} UTC on {machine.Line}.");
        text.AppendLine();
        text.AppendLine(Invariant, $"Command: `{commandLine}`");
        text.AppendLine();

        if (result.Drains.Count > 0)
        {
            text.Append(Invariant, $"Drain {settings.IoTasks:N0} `bench.sleep({sleepMs:0} ms)` tasks, results ignored, queue filled before the worker starts. ")
                .AppendLine("Rate = tasks / (last task's end − first task's start), both seen by the worker's drain probe; ideal = waves of `-c` tasks, one sleep each, no time of the worker's own:");
            text.AppendLine();
            text.AppendLine("| system | worker | drain (tasks/s) | first start → last end (s) | worker start → last end (s) | from worker start (tasks/s) | ideal (s) | ideal (tasks/s) | of ideal | peak running at once | RSS after (MiB) | worker CPU (µs/task) | Redis commands/task | left in queue |");
            text.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var io in result.Drains)
            {
                var d = io.Result;
                text.AppendLine(Invariant,
                    $"| {io.System} | {d.Configuration} | {d.Rate:N0} | {d.FirstToLast.TotalSeconds:0.000} | {d.StartToLast.TotalSeconds:0.000} | {d.RateWithStartUp:N0} | {io.Ideal.TotalSeconds:0.000} | {io.IdealRate:N0} | {io.OfIdeal:0%} | {d.PeakRunning:N0} | {d.MemoryAfter.RssMiB:0.0} | {d.WorkerCpuMicrosecondsPerTask:0.0} | {Number(d.RedisCommandsPerTask, "0.00")} | {d.QueueLengthAfter} |");
            }
            text.AppendLine();
            if (result.Ceiling is { } ceiling)
            {
                text.AppendLine(Invariant, $"Timer ceiling on this machine: {ceiling.Tasks:N0} `Task.Delay({ceiling.Sleep.TotalMilliseconds:0} ms)` in {ceiling.Concurrency} loops in one process, no broker, no worker (best of three): {ceiling.Elapsed.TotalSeconds:0.000} s = **{ceiling.Rate:N0} delays/s**. A delay lasts longer than asked (timer resolution, scheduling), so this, not the ideal, is what a worker at `-c {ceiling.Concurrency}` can reach.");
                text.AppendLine();
            }
        }

        if (result.Sleepers.Count > 0)
        {
            text.Append(Invariant, $"{settings.Sleepers:N0} `bench.sleep({settings.SleeperSleep.TotalSeconds:0.#} s)` tasks on one worker with `-c {settings.Sleepers}` and prefetch multiplier {settings.SleepersPrefetchMultiplier}, ")
                .Append(Invariant, $"queue filled before it starts; given up on {settings.SleepersTimeout.TotalSeconds:0} s after the sleep. ")
                .AppendLine("\"All at once\": none had finished when the last one started. RSS is sampled every 100 ms; \"while all sleep\" is the first sample after the last task started:");
            text.AppendLine();
            text.AppendLine("| system | worker | peak sleeping at once | all at once | first start → last start (s) | first start → last end (s) | worker start → last end (s) | RSS while all sleep (MiB) | peak RSS (MiB) | RSS after (MiB) | worker CPU (s) | left in queue | outcome |");
            text.AppendLine("|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|");
            foreach (var s in result.Sleepers)
            {
                text.AppendLine(Invariant,
                    $"| {s.System} | {s.Configuration} | {(s.Peak is { } peak ? peak.ToString("N0", Invariant) : "—")} | {(s.AllStarted is null ? "—" : s.AllAtOnce ? "yes" : "no")} | {Seconds(s.FirstToAllStarted)} | {Seconds(s.FirstToLast)} | {Seconds(s.StartToLast)} | {(s.MemoryAllSleeping is { } m ? m.RssMiB.ToString("0.0", Invariant) : "—")} | {s.PeakMemory.RssMiB:0.0} | {s.MemoryAfter.RssMiB:0.0} | {s.WorkerCpu.TotalSeconds:0.00} | {s.QueueLengthAfter} | {s.Failure ?? "all finished"} |");
            }
            text.AppendLine();
        }

        AppendTargets(text, settings, result);
        return text.ToString();
    }

    private static void AppendTargets(StringBuilder text, BenchSettings settings, IoResult result)
    {
        var fennel = result.Drains.Where(d => d.System == "Fennel").MaxBy(d => d.Result.Rate);
        var celery = result.Drains.Where(d => d.System != "Fennel").MaxBy(d => d.Result.Rate);
        var sleepers = result.Sleepers.FirstOrDefault(s => s.System == "Fennel");
        if (fennel is null && sleepers is null) return;
        text.AppendLine(Invariant, $"Targets (issue 5, 2-core machine; stated for {2_000:N0} × 10 ms at -c 100 and {10_000:N0} sleepers):");
        text.AppendLine();
        if (fennel is not null)
        {
            var rate = fennel.Result.Rate;
            var ofCeiling = result.Ceiling is { } c ? string.Create(Invariant, $", {rate / c.Rate:0%} of the timer ceiling ({c.Rate:N0})") : "";
            Target(text, $"I/O drain ≥ 8,000 tasks/s (ideal {fennel.IdealRate:N0}): {rate:N0} tasks/s, {fennel.OfIdeal:0%} of ideal{ofCeiling}", rate >= 8_000);
            if (celery is not null)
            {
                text.AppendLine(Invariant, $"- Fennel against Celery's best pool ({celery.System}, {celery.Result.Configuration}: {celery.Result.Rate:N0} tasks/s): {rate / celery.Result.Rate:0.0}×");
            }
        }
        if (sleepers is not null)
        {
            var peak = sleepers.Peak is { } p ? p.ToString("N0", Invariant) : "unknown";
            var sleeping = sleepers.MemoryAllSleeping is { } m ? m.RssMiB.ToString("0.0", Invariant) : "—";
            Target(text, string.Create(Invariant, $"{settings.Sleepers:N0} tasks sleeping at once on one worker: peak {peak}, RSS {sleeping} MiB while all sleep, {sleepers.PeakMemory.RssMiB:0.0} MiB at peak"),
                sleepers.AllAtOnce && sleepers.Failure is null);
        }
        text.AppendLine();
    }

    private static string Seconds(TimeSpan? value) => value is { } v ? v.TotalSeconds.ToString("0.000", Invariant) : "—";

    private static string Number(double value, string format) => double.IsNaN(value) ? "—" : value.ToString(format, Invariant);

    private static void Target(StringBuilder text, string what, bool met) =>
        text.AppendLine(Invariant, $"- {(met ? "met" : "**missed**")}: {what}");
}
