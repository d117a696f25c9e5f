using System.Globalization;
using System.Text;
using Fennel.Bench.Measuring;
using Fennel.Bench.Raw;

namespace Fennel.Bench.Report;

/// <summary>
/// One broker's report in Markdown: the comparison table (metric | Fennel | the Celery columns | ratio), every drain
/// configuration tried (on RabbitMQ with the raw client's ceiling), the targets, and the machine line. The ratio is Fennel against the best Celery column, put
/// so that above 1× means Fennel is better (faster, quicker, smaller).
/// </summary>
internal static class MarkdownReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <param name="machine">The machine line.</param>
    /// <param name="settings">The run's options.</param>
    /// <param name="broker"><c>redis</c> or <c>amqp</c>: which rows and targets apply.</param>
    /// <param name="commandLine">The command, for the report.</param>
    /// <param name="columns">Fennel first (when measured), then the Celery columns.</param>
    /// <param name="raw">On RabbitMQ, the raw client's ceiling; null when not measured.</param>
    public static string Render(MachineInfo machine, BenchSettings settings, string broker, string commandLine, IReadOnlyList<SystemResult> columns,
        RawResult? raw = null)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(columns);
        var onRedis = broker == "redis";
        var brokerName = onRedis ? "Redis" : "RabbitMQ";
        var fennel = columns.FirstOrDefault(c => c.Name == "Fennel");
        var celery = columns.Where(c => c.Name != "Fennel").ToList();
        var text = new StringBuilder();
        text.AppendLine(Invariant, $"Measured {machine.Date:yyyy-MM-dd HH:mm} UTC on {machine.Line}.");
        text.AppendLine();
        text.AppendLine(Invariant, $"Command: `{commandLine}`");
        text.AppendLine();
        text.AppendLine(Invariant, $"| metric | {string.Join(" | ", columns.Select(c => c.Name))} | ratio |");
        text.AppendLine(Invariant, $"|---|{string.Concat(columns.Select(_ => "--:|"))}--:|");
        foreach (var row in Rows(settings, brokerName, onRedis))
        {
            var cells = columns.Select(row.Cell);
            text.AppendLine(Invariant, $"| {row.Metric} | {string.Join(" | ", cells)} | {Ratio(row, fennel, celery)} |");
        }
        text.AppendLine();
        text.AppendLine("Ratio: Fennel against the best Celery column, above 1× when Fennel is better (higher rate, lower latency, memory, CPU or commands).");
        text.AppendLine();

        text.AppendLine(Invariant, $"Every drain ({settings.Tasks:N0} no-op tasks, queue filled before the worker starts):");
        text.AppendLine();
        var drains = columns.SelectMany(s => s.Drains.Select(d => (System: s.Name, Drain: d)))
            .Concat(raw?.Drains.Select(d => (System: "RabbitMQ.Client alone", Drain: d)) ?? []).ToList();
        if (onRedis)
        {
            text.AppendLine("| system | worker | fill (tasks/s) | drain (tasks/s) | second half (tasks/s) | first → last run (s) | worker start → last run (s) | RSS after (MiB) | PSS after (MiB) | worker CPU (µs/task) | Redis commands/task | Redis CPU (µs/task) | of it in the kernel | Redis commands per task (Redis time per task) | left in queue |");
            text.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|");
            foreach (var (system, d) in drains)
            {
                text.AppendLine(Invariant,
                    $"| {system} | {d.Configuration} | {d.Fill.Rate:N0} | {d.Rate:N0} | {d.SecondHalfRate:N0} | {d.FirstToLast.TotalSeconds:0.000} | {d.StartToLast.TotalSeconds:0.000} | {d.MemoryAfter.RssMiB:0.0} | {d.MemoryAfter.PssMiB:0.0} | {d.WorkerCpuMicrosecondsPerTask:0.0} | {Number(d.RedisCommandsPerTask, "0.00")} | {Number(d.BrokerCpuMicrosecondsPerTask, "0.0")} | {Percent(d.BrokerKernelShare)} | {d.Redis?.PerTask(d.Tasks) ?? "— (not on the run's Redis)"} | {d.QueueLengthAfter} |");
            }
        }
        else
        {
            text.AppendLine("| system | worker | fill (tasks/s) | drain (tasks/s) | second half (tasks/s) | first → last run (s) | worker start → last run (s) | RSS after (MiB) | PSS after (MiB) | worker CPU (µs/task) | RabbitMQ CPU (µs/task) | of it in the kernel | left in queue |");
            text.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var (system, d) in drains)
            {
                text.AppendLine(Invariant,
                    $"| {system} | {d.Configuration} | {d.Fill.Rate:N0} | {d.Rate:N0} | {d.SecondHalfRate:N0} | {d.FirstToLast.TotalSeconds:0.000} | {d.StartToLast.TotalSeconds:0.000} | {d.MemoryAfter.RssMiB:0.0} | {d.MemoryAfter.PssMiB:0.0} | {d.WorkerCpuMicrosecondsPerTask:0.0} | {Number(d.BrokerCpuMicrosecondsPerTask, "0.0")} | {Percent(d.BrokerKernelShare)} | {d.QueueLengthAfter} |");
            }
        }
        text.AppendLine();

        text.AppendLine("Enqueue samples: each measurement, then each drain's fill (the same calls, the same warm-up):");
        text.AppendLine();
        text.AppendLine("| system | method | samples (tasks/s) | median |");
        text.AppendLine("|---|---|---|--:|");
        var samples = columns.SelectMany(s => new[] { (s.Name, s.SingleSamples), (s.Name, s.BulkSamples) })
            .Concat(raw is null ? [] : new[] { ("RabbitMQ.Client alone", (IReadOnlyList<EnqueueResult>)[raw.Single]), ("RabbitMQ.Client alone", raw.WindowSamples) });
        foreach (var (name, list) in samples.Where(x => x.Item2.Count > 0))
        {
            text.AppendLine(Invariant,
                $"| {name} | {list[0].Method} | {string.Join(", ", list.Select(x => x.Rate.ToString("N0", Invariant)))} | {SystemResult.MedianRate(list):N0} |");
        }
        text.AppendLine();
        if (raw is not null)
        {
            text.AppendLine(Invariant, $"RabbitMQ.Client alone sends copies of a Fennel bench.noop message ({raw.BodyBytes} bytes of body, its headers and properties, persistent).");
            text.AppendLine();
        }

        text.AppendLine("Round trips and idle memory:");
        text.AppendLine();
        text.AppendLine("| system | round trips against | p50 (ms) | p99 (ms) | mean (ms) | max (ms) | idle worker | idle RSS (MiB) | idle PSS (MiB) | processes |");
        text.AppendLine("|---|---|--:|--:|--:|--:|---|--:|--:|--:|");
        foreach (var s in columns)
        {
            var r = s.RoundTrip;
            text.AppendLine(Invariant,
                $"| {s.Name} | {s.RoundTripConfiguration} | {r.P50Milliseconds:0.000} | {r.P99Milliseconds:0.000} | {r.MeanMilliseconds:0.000} | {r.MaxMilliseconds:0.000} | {s.IdleConfiguration} | {s.Idle.RssMiB:0.0} | {s.Idle.PssMiB:0.0} | {s.Idle.Processes} |");
        }
        text.AppendLine();

        if (fennel is not null && onRedis) AppendRedisTargets(text, fennel, celery);
        if (fennel is not null && !onRedis) AppendAmqpTargets(text, fennel, celery, raw);
        return text.ToString();
    }

    private static IEnumerable<Row> Rows(BenchSettings settings, string brokerName, bool onRedis) =>
    [
        new($"Drain {settings.Tasks:N0} no-op tasks, results ignored (tasks/s, first run → last run; best worker)",
            s => $"{s.BestDrain.Rate:N0} ({s.BestDrain.Configuration})", s => s.BestDrain.Rate, HigherIsBetter: true),
        new("Same drain, second half only: worker warmed by the first half (tasks/s)", s => $"{s.BestDrain.SecondHalfRate:N0}", s => s.BestDrain.SecondHalfRate, true),
        new("Same drain, worker process start → last run (tasks/s)", s => $"{s.BestDrain.RateWithStartUp:N0}", s => s.BestDrain.RateWithStartUp, true),
        new($"Enqueue {settings.Tasks:N0} one at a time, each awaited (tasks/s; median of the samples below)",
            s => Number(SystemResult.MedianRate(s.SingleSamples), "N0"), s => SystemResult.MedianRate(s.SingleSamples), true),
        new($"Enqueue {settings.Tasks:N0} in bulk (tasks/s; median)", s => Number(SystemResult.MedianRate(s.BulkSamples), "N0"),
            s => SystemResult.MedianRate(s.BulkSamples), true),
        new($"Round trip p50, {settings.RoundTrips:N0} sequential add calls (ms)", s => $"{s.RoundTrip.P50Milliseconds:0.000}", s => s.RoundTrip.P50Milliseconds, false),
        new("Round trip p99 (ms)", s => $"{s.RoundTrip.P99Milliseconds:0.000}", s => s.RoundTrip.P99Milliseconds, false),
        new("Worker RSS idle (MiB)", s => $"{s.Idle.RssMiB:0.0}", s => s.Idle.RssMiB, false),
        new("Worker RSS after the drain (MiB)", s => $"{s.BestDrain.MemoryAfter.RssMiB:0.0}", s => s.BestDrain.MemoryAfter.RssMiB, false),
        new("Worker CPU per task in the drain (µs)", s => $"{s.BestDrain.WorkerCpuMicrosecondsPerTask:0.0}", s => s.BestDrain.WorkerCpuMicrosecondsPerTask, false),
        .. onRedis
            ? new[] { new Row("Redis commands per task in the drain", s => Number(s.BestDrain.RedisCommandsPerTask, "0.00"), s => s.BestDrain.RedisCommandsPerTask, false) }
            : [],
        new($"{brokerName} CPU per task in the drain (µs)", s => Number(s.BestDrain.BrokerCpuMicrosecondsPerTask, "0.0"), s => s.BestDrain.BrokerCpuMicrosecondsPerTask, false),
    ];

    private static string Ratio(Row row, SystemResult? fennel, IEnumerable<SystemResult> celery)
    {
        if (fennel is null) return "—";
        var ours = row.Value(fennel);
        var theirs = celery.Select(row.Value).Where(v => !double.IsNaN(v)).ToList();
        if (double.IsNaN(ours) || theirs.Count == 0) return "—";
        var best = row.HigherIsBetter ? theirs.Max() : theirs.Min();
        var ratio = row.HigherIsBetter ? ours / best : best / ours;
        return ratio.ToString("0.0", Invariant) + "×";
    }

    private static void AppendRedisTargets(StringBuilder text, SystemResult fennel, IEnumerable<SystemResult> celery)
    {
        var bestCelery = celery.Select(s => s.BestDrain.Rate).DefaultIfEmpty(double.NaN).Max();
        var drain = fennel.BestDrain.Rate;
        text.AppendLine("Targets (issue, 2-core machine):");
        text.AppendLine();
        Target(text, $"drain ≥ 30,000 tasks/s: {drain:N0}", drain >= 30_000);
        if (!double.IsNaN(bestCelery)) Target(text, $"drain ≥ 20× the best Celery drain: {drain / bestCelery:0.0}×", drain >= 20 * bestCelery);
        var bulk = SystemResult.MedianRate(fennel.BulkSamples);
        if (!double.IsNaN(bulk)) Target(text, $"batch enqueue ≥ 100,000 tasks/s: {bulk:N0}", bulk >= 100_000);
        Target(text, $"round trip p50 ≤ 0.5 ms: {fennel.RoundTrip.P50Milliseconds:0.000} ms", fennel.RoundTrip.P50Milliseconds <= 0.5);
        Target(text, $"round trip p99 ≤ 2 ms: {fennel.RoundTrip.P99Milliseconds:0.000} ms", fennel.RoundTrip.P99Milliseconds <= 2);
        Target(text, $"idle RSS ≤ 46 MiB: {fennel.Idle.RssMiB:0.0} MiB", fennel.Idle.RssMiB <= 46);
        text.AppendLine();
    }

    private static void AppendAmqpTargets(StringBuilder text, SystemResult fennel, IReadOnlyList<SystemResult> celery, RawResult? raw)
    {
        var drain = fennel.BestDrain.Rate;
        text.AppendLine("Targets (issue, 2-core machine, RabbitMQ):");
        text.AppendLine();
        if (celery.Count > 0)
        {
            var best = celery.MaxBy(s => s.BestDrain.Rate)!;
            Target(text, $"drain ≥ 4× the best Celery drain ({best.Name}, {best.BestDrain.Configuration}: {best.BestDrain.Rate:N0}/s): {drain:N0}/s, {drain / best.BestDrain.Rate:0.0}×",
                drain >= 4 * best.BestDrain.Rate);
        }
        if (raw?.AckEachDrain is { } ceiling)
        {
            Target(text, $"drain ≥ 70 % of RabbitMQ.Client's consume + ack ({ceiling.Rate:N0}/s, {ceiling.Configuration}): {drain:N0}/s, {drain / ceiling.Rate:0%}",
                drain >= 0.7 * ceiling.Rate);
        }
        text.AppendLine();
    }

    private static string Number(double value, string format) => double.IsNaN(value) ? "—" : value.ToString(format, Invariant);

    private static string Percent(double share) => double.IsNaN(share) ? "—" : (share * 100).ToString("0", Invariant) + "%";

    private static void Target(StringBuilder text, string what, bool met) =>
        text.AppendLine(Invariant, $"- {(met ? "met" : "**missed**")}: {what}");

    private sealed record Row(string Metric, Func<SystemResult, string> Cell, Func<SystemResult, double> Value, bool HigherIsBetter);
}
