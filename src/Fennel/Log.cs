using Microsoft.Extensions.Logging;

namespace Fennel;

/// <summary>
/// Every log line of the Fennel assembly. Event ids: 1xxx worker life, 2xxx tasks, 3xxx messages taken out of
/// circulation, 4xxx broker trouble.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "{Node} ready: queues [{Queues}], pool {Pool}, concurrency {Concurrency}, prefetch {Prefetch}, broker {Broker}")]
    public static partial void WorkerReady(ILogger logger, string node, string queues, string pool, int concurrency, int prefetch, string broker);

    [LoggerMessage(1001, LogLevel.Information, "{Node} warm shutdown: no new tasks; {Returned} unstarted message(s) returned to the broker, waiting up to {Timeout} s for {Running} running task(s)")]
    public static partial void WarmShutdown(ILogger logger, string node, int returned, double timeout, int running);

    [LoggerMessage(1002, LogLevel.Warning, "{Node} cold shutdown: {Running} running task(s) interrupted; their messages go back to the broker unacknowledged")]
    public static partial void ColdShutdown(ILogger logger, string node, int running);

    [LoggerMessage(1003, LogLevel.Information, "{Node} stopped: {Processed} task(s) processed")]
    public static partial void WorkerStopped(ILogger logger, string node, long processed);

    [LoggerMessage(1004, LogLevel.Warning, "{Node} warm shutdown took longer than {Timeout} s; stopping cold")]
    public static partial void ShutdownTimedOut(ILogger logger, string node, double timeout);

    [LoggerMessage(2000, LogLevel.Information, "Task {Name}[{Id}] received")]
    public static partial void TaskReceived(ILogger logger, string name, string id);

    [LoggerMessage(2001, LogLevel.Information, "Task {Name}[{Id}] succeeded in {Seconds:0.000}s: {Result}")]
    public static partial void TaskSucceeded(ILogger logger, string name, string id, double seconds, string result);

    [LoggerMessage(2002, LogLevel.Error, "Task {Name}[{Id}] failed in {Seconds:0.000}s: {Error}")]
    public static partial void TaskFailed(ILogger logger, string name, string id, double seconds, string error, Exception exception);

    [LoggerMessage(2003, LogLevel.Information, "Task {Name}[{Id}] retry {Retry} of {MaxRetries} in {Delay:0.###}s: {Reason}")]
    public static partial void TaskRetried(ILogger logger, string name, string id, int retry, int maxRetries, double delay, string reason);

    [LoggerMessage(2004, LogLevel.Information, "Task {Name}[{Id}] expired at {Expires:o}; marked REVOKED")]
    public static partial void TaskExpired(ILogger logger, string name, string id, DateTimeOffset expires);

    [LoggerMessage(2005, LogLevel.Debug, "Task {Name}[{Id}] is due at {Eta:o}; parked in the broker until then")]
    public static partial void TaskParked(ILogger logger, string name, string id, DateTimeOffset eta);

    [LoggerMessage(2006, LogLevel.Warning, "Task {Name}[{Id}] exceeded its hard time limit of {Seconds} s; recorded as TimeLimitExceeded (the handler was cancelled but .NET cannot stop it by force in the {Pool} pool)")]
    public static partial void HardTimeLimit(ILogger logger, string name, string id, double seconds, string pool);

    [LoggerMessage(2007, LogLevel.Warning, "Task {Name}[{Id}] terminated after {Seconds:0.000}s; marked REVOKED")]
    public static partial void TaskTerminated(ILogger logger, string name, string id, double seconds);

    [LoggerMessage(1005, LogLevel.Information, "{Node} {Change} its pool: concurrency {Concurrency}, prefetch {Prefetch}")]
    public static partial void PoolResized(ILogger logger, string node, string change, int concurrency, int prefetch);

    [LoggerMessage(1006, LogLevel.Information, "{Node} restarted its {Pool} pool")]
    public static partial void PoolRestarted(ILogger logger, string node, string pool);

    [LoggerMessage(1007, LogLevel.Information, "{Node} stopped while starting, before it took any task")]
    public static partial void StoppedWhileStarting(ILogger logger, string node);

    [LoggerMessage(3002, LogLevel.Warning, "Message {Tag} from queue {Queue} comes back after its worker was lost (delivery {Delivery} of at most {Limit}); {Node} runs it alone, so if it takes the process down again nothing else is counted with it")]
    public static partial void RunningAlone(ILogger logger, string tag, string queue, int delivery, int limit, string node);

    [LoggerMessage(3000, LogLevel.Error, "Message {Tag} from queue {Queue} dead-lettered: {Reason}")]
    public static partial void DeadLettered(ILogger logger, string tag, string queue, string reason);

    [LoggerMessage(3001, LogLevel.Critical, "Message {Tag} from queue {Queue} could not be dead-lettered ({Reason}); it stays leased and returns after the lease")]
    public static partial void DeadLetterFailed(ILogger logger, string tag, string queue, string reason, Exception exception);

    [LoggerMessage(4000, LogLevel.Error, "{Node} cannot fetch from the broker ({Broker}); retrying in {Delay:0.#} s")]
    public static partial void FetchFailed(ILogger logger, string node, string broker, double delay, Exception exception);

    [LoggerMessage(4001, LogLevel.Warning, "{Node} could not renew the leases of {Count} message(s); they may be delivered again if this lasts")]
    public static partial void RenewFailed(ILogger logger, string node, int count, Exception exception);

    [LoggerMessage(4002, LogLevel.Error, "{Node} could not settle message {Tag} of task {Id} ({Action}); it returns to the queue after its lease")]
    public static partial void SettleFailed(ILogger logger, string node, string tag, string id, string action, Exception exception);

    [LoggerMessage(4003, LogLevel.Error, "{Node} could not store the result of task {Id} ({State}); the message stays unacknowledged and will run again")]
    public static partial void StoreFailed(ILogger logger, string node, string id, string state, Exception exception);
}
