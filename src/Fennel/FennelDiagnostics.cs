using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Fennel;

/// <summary>Fennel's one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named <c>Fennel</c>.</summary>
public static class FennelDiagnostics
{
    /// <summary>The name of the activity source and the meter.</summary>
    public const string Name = "Fennel";

    /// <summary>Traces publishing and running tasks.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private static readonly Meter Meter = new(Name);

    /// <summary>Tasks published.</summary>
    public static readonly Counter<long> TasksSent = Meter.CreateCounter<long>("fennel.tasks.sent", "{task}");

    /// <summary>Tasks that finished on this worker, tagged by state.</summary>
    public static readonly Counter<long> TasksFinished = Meter.CreateCounter<long>("fennel.tasks.finished", "{task}");

    /// <summary>How long tasks ran.</summary>
    public static readonly Histogram<double> TaskDuration = Meter.CreateHistogram<double>("fennel.task.duration", "s");
}
