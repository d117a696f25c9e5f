using Microsoft.Extensions.Logging;

namespace Fennel;

// Revokes: ids 2300–2349.
internal static partial class Log
{
    [LoggerMessage(2300, LogLevel.Information, "{Node} honours {Count} revoke(s) kept in the broker")]
    public static partial void RevokesLoaded(ILogger logger, string node, int count);

    [LoggerMessage(2301, LogLevel.Warning, "{Node}: the broker {Broker} cannot keep revokes; this worker honours none (revoke tasks on a broker that keeps them: sqlite, redis, amqp)")]
    public static partial void RevokesNotKept(ILogger logger, string node, string broker);

    [LoggerMessage(2302, LogLevel.Information, "Task {Name}[{Id}] was revoked; discarded unrun and marked REVOKED")]
    public static partial void TaskRevokedDiscarded(ILogger logger, string name, string id);

    [LoggerMessage(2303, LogLevel.Information, "Terminating task {Id}: revoked with terminate")]
    public static partial void TerminatingRevokedTask(ILogger logger, string id);

    [LoggerMessage(2304, LogLevel.Warning, "{Node} could not read revokes from the broker; retrying every {Seconds:0.###} s (revokes made meanwhile are honoured once it answers)")]
    public static partial void ReadRevokesFailed(ILogger logger, string node, double seconds, Exception exception);

    [LoggerMessage(2305, LogLevel.Information, "{Node} reads revokes from the broker again")]
    public static partial void ReadRevokesRecovered(ILogger logger, string node);

    [LoggerMessage(2306, LogLevel.Warning, "{Node} holds {Capacity} revokes, its most; the one expiring first, for task {Id}, is forgotten early")]
    public static partial void RevokeForgottenEarly(ILogger logger, string node, int capacity, string id);
}
