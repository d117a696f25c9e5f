using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.History;

/// <summary>The log messages of the dashboard's history. Event ids 8023 upward, in Fennel.Dashboard's range (see <c>Log</c>: 8000–8049).</summary>
internal static partial class HistoryLog
{
    [LoggerMessage(8023, LogLevel.Information, "Opened the dashboard history {Path} (schema version {Version})")]
    public static partial void Opened(ILogger logger, string path, int version);

    [LoggerMessage(8024, LogLevel.Warning, "Ignored a {Type} event from {Hostname}: {Reason}")]
    public static partial void EventIgnored(ILogger logger, string type, string hostname, string reason);

    [LoggerMessage(8025, LogLevel.Error, "Writing {Count} events to the dashboard history {Path} failed; they are lost from the history")]
    public static partial void BatchFailed(ILogger logger, int count, string path, Exception exception);

    [LoggerMessage(8026, LogLevel.Debug, "Trimmed {Tasks} tasks, {Workers} workers and {Buckets} throughput rows from the dashboard history {Path}")]
    public static partial void Trimmed(ILogger logger, int tasks, int workers, int buckets, string path);

    [LoggerMessage(8027, LogLevel.Error, "Trimming the dashboard history {Path} failed; trying again at the next interval")]
    public static partial void TrimFailed(ILogger logger, string path, Exception exception);
}
