using Fennel.Events;
using Fennel.Monitoring;
using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Metrics;

/// <summary>
/// Task counts by name and state and runtime histograms by name, counted from the task events the dashboard receives
/// (since it started: monotonic, as Prometheus counters are). Events that carry no name (<c>task-started</c>,
/// <c>task-succeeded</c>, ...) take it from the cluster state, which heard it in <c>task-received</c>; a task it never
/// heard of counts as <c>_unknown</c>. At most <see cref="FennelDashboardMetricsOptions.MaxTaskNames"/> names get series
/// of their own; later names count as <c>_other</c>. Thread-safe.
/// </summary>
internal sealed class TaskMetrics(int maxTaskNames, ILogger logger)
{
    public const string UnknownName = "_unknown";
    public const string OtherName = "_other";

    /// <summary>The states counted, by the event that leads to each.</summary>
    public static readonly IReadOnlyList<(string Event, string State)> States =
    [
        ("task-received", "RECEIVED"), ("task-started", "STARTED"), ("task-succeeded", "SUCCESS"), ("task-failed", "FAILURE"),
        ("task-retried", "RETRY"), ("task-revoked", "REVOKED"), ("task-rejected", "REJECTED"),
    ];

    /// <summary>Runtime bucket bounds in seconds (upper, inclusive), from 5 ms to an hour; <c>+Inf</c> is implied.</summary>
    public static readonly IReadOnlyList<double> RuntimeBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Series> _byName = new(StringComparer.Ordinal);
    private bool _capped;

    /// <summary>Counts <paramref name="e"/> when it is a task event; <paramref name="state"/> already holds it (for the name).</summary>
    public void Apply(CeleryEvent e, ClusterState state)
    {
        if (e is not TaskEvent task) return;
        var index = StateIndex(e.Type);
        if (index < 0) return;
        var name = (task as TaskDescriptionEvent)?.Name;
        if (string.IsNullOrEmpty(name)) name = state.GetTask(task.TaskId)?.Name;
        if (string.IsNullOrEmpty(name)) name = UnknownName;
        var runtime = (task as TaskSucceededEvent)?.Runtime ?? RuntimeOf(task);
        lock (_gate)
        {
            if (!_byName.TryGetValue(name, out var series))
            {
                if (_byName.Count >= maxTaskNames)
                {
                    if (!_capped)
                    {
                        _capped = true;
                        MetricsLog.TaskNamesCapped(logger, maxTaskNames, name);
                    }
                    name = OtherName;
                    if (!_byName.TryGetValue(name, out series)) _byName[name] = series = new Series();
                }
                else _byName[name] = series = new Series();
            }
            series.Counts[index]++;
            if (runtime is { } seconds && double.IsFinite(seconds) && seconds >= 0 && e is TaskSucceededEvent or TaskFailedEvent)
            {
                var bucket = 0;
                while (bucket < RuntimeBuckets.Count && seconds > RuntimeBuckets[bucket]) bucket++;
                series.Buckets[bucket]++;
                series.RuntimeSum += seconds;
                series.RuntimeCount++;
            }
        }
    }

    /// <summary>A copy of every series, by name (ordinal order).</summary>
    public IReadOnlyList<(string Name, long[] Counts, long[] Buckets, double RuntimeSum, long RuntimeCount)> Read()
    {
        lock (_gate)
        {
            return [.. _byName.OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => (p.Key, (long[])p.Value.Counts.Clone(), (long[])p.Value.Buckets.Clone(), p.Value.RuntimeSum, p.Value.RuntimeCount))];
        }
    }

    private static int StateIndex(string type)
    {
        for (var i = 0; i < States.Count; i++)
        {
            if (string.Equals(States[i].Event, type, StringComparison.Ordinal)) return i;
        }
        return -1;
    }

    /// <summary>Celery's <c>task-failed</c> has no runtime field, but some senders put one among the extra fields.</summary>
    private static double? RuntimeOf(TaskEvent e) =>
        e.Extra["runtime"] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue<double>(out var seconds) ? seconds : null;

    private sealed class Series
    {
        public long[] Counts { get; } = new long[States.Count];

        /// <summary>Per bucket (not cumulative), the last being above every bound.</summary>
        public long[] Buckets { get; } = new long[RuntimeBuckets.Count + 1];

        public double RuntimeSum { get; set; }

        public long RuntimeCount { get; set; }
    }
}
