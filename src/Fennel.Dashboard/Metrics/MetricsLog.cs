using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Metrics;

// The Prometheus endpoint's log events: 8037–8040 (of Fennel.Dashboard's 8000–8049).
internal static partial class MetricsLog
{
    [LoggerMessage(8037, LogLevel.Warning, "The dashboard's metrics at {Path} are PUBLIC: anyone who reaches them can read them, without credentials")]
    public static partial void PublicMetrics(ILogger logger, string path);

    [LoggerMessage(8038, LogLevel.Warning, "The dashboard's metrics left out the depth of queue {Queue}: {Reason}")]
    public static partial void QueueDepthSkipped(ILogger logger, string queue, string reason);

    [LoggerMessage(8039, LogLevel.Warning, "The dashboard's metrics keep at most {Max} task names; events of further names are counted as '_other' (first: {Name})")]
    public static partial void TaskNamesCapped(ILogger logger, int max, string name);

    [LoggerMessage(8040, LogLevel.Warning, "A request for the dashboard's metrics from {Address} was refused: {Reason}")]
    public static partial void MetricsRefused(ILogger logger, string? address, string reason);
}
