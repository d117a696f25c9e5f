using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard;

// Fennel.Dashboard's log events: 8000–8049 (8000–8019 security and audit, 8020–8022 the state feed and API,
// 8023–8027 the task history in History/HistoryLog.cs, 8028–8034 dead letters, queues and re-sends; the next free id is 8035).
internal static partial class Log
{
    [LoggerMessage(8000, LogLevel.Information, "Dashboard control action {Action} by {User} from {Address} for {Targets} with {Arguments}: {Outcome}")]
    public static partial void ControlAction(ILogger logger, string action, string user, string? address, string targets, string arguments, string outcome);

    [LoggerMessage(8001, LogLevel.Warning, "Dashboard sign-in failed for user {User} from {Address}")]
    public static partial void LoginFailed(ILogger logger, string user, string? address);

    [LoggerMessage(8002, LogLevel.Warning, "Dashboard sign-ins for user {User} from {Address} are throttled: too many failures")]
    public static partial void LoginThrottled(ILogger logger, string user, string? address);

    [LoggerMessage(8003, LogLevel.Warning, "Dashboard control action {Action} by {User} refused: {Reason}")]
    public static partial void ControlRefused(ILogger logger, string action, string user, string reason);

    [LoggerMessage(8020, LogLevel.Information, "Dashboard watching events on {Broker}; {Count} node(s) answered the first ping")]
    public static partial void Watching(ILogger logger, string broker, int count);

    [LoggerMessage(8021, LogLevel.Error, "Dashboard cannot watch events: {Reason}")]
    public static partial void WatchFailed(ILogger logger, string reason, Exception exception);

    [LoggerMessage(8022, LogLevel.Warning, "Dashboard could not read the depth of queue {Queue}: {Reason}")]
    public static partial void QueueDepthFailed(ILogger logger, string queue, string reason);

    [LoggerMessage(8028, LogLevel.Warning, "Dashboard requeue of all dead letters stopped at a bound after requeuing {Count}: more may remain; ask again to go on")]
    public static partial void RequeueAllBounded(ILogger logger, int count);

    [LoggerMessage(8029, LogLevel.Warning, "Dashboard could not purge queue {Queue}: {Reason}")]
    public static partial void QueuePurgeFailed(ILogger logger, string queue, string reason);

    [LoggerMessage(8030, LogLevel.Warning, "Dashboard could not count the dead letters per queue: {Reason}")]
    public static partial void DeadLetterCountFailed(ILogger logger, string reason);

    [LoggerMessage(8031, LogLevel.Warning, "Dashboard {Method} {Path} failed at the broker: {Reason}")]
    public static partial void BrokerFailed(ILogger logger, string method, string path, string reason);
}
