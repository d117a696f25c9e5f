using Microsoft.Extensions.Logging;

namespace Fennel;

// The process pool's log lines: event ids 2100–2149.
internal static partial class Log
{
    [LoggerMessage(2100, LogLevel.Information, "{Node} process pool: child {Pid} started ({Why})")]
    public static partial void ChildStarted(ILogger logger, string node, int pid, string why);

    [LoggerMessage(2101, LogLevel.Information, "{Node} process pool: child {Pid} exited ({Exit}) after {Tasks} task(s): {Why}")]
    public static partial void ChildExited(ILogger logger, string node, int pid, string exit, int tasks, string why);

    [LoggerMessage(2102, LogLevel.Warning, "{Node} process pool: child {Pid} was lost ({Exit}) {While}; replacing it")]
    public static partial void ChildCrashed(ILogger logger, string node, int pid, string exit, string @while);

    [LoggerMessage(2103, LogLevel.Warning, "{Node} process pool: child {Pid} killed ({Why}) while running task {Name}[{Id}]; replacing it")]
    public static partial void ChildKilled(ILogger logger, string node, int pid, string why, string name, string id);

    [LoggerMessage(2104, LogLevel.Error, "{Node} process pool: a child process could not start: {Error} Trying again in {Delay:0.#} s")]
    public static partial void ChildStartFailed(ILogger logger, string node, string error, double delay);

    [LoggerMessage(2105, LogLevel.Warning, "Task {Name}[{Id}] lost its worker process ({Reason}); running it again (delivery {Delivery} of at most {Limit})")]
    public static partial void TaskLostRunAgain(ILogger logger, string name, string id, string reason, int delivery, int limit);

    [LoggerMessage(2106, LogLevel.Debug, "Process pool child {Pid} of parent {Parent} ready")]
    public static partial void ChildReady(ILogger logger, int pid, int parent);

    [LoggerMessage(2107, LogLevel.Critical, "Process pool child {Pid}: the connection to the parent failed ({Error}); exiting")]
    public static partial void ChildConnectionFailed(ILogger logger, int pid, string error, Exception? exception);

    [LoggerMessage(2108, LogLevel.Warning, "Process pool child {Pid}: the parent is gone (end of file on the pool socket) while task {Id} runs; exiting at once")]
    public static partial void ChildParentGone(ILogger logger, int pid, string id);

    [LoggerMessage(2109, LogLevel.Error, "{Node} process pool: child {Pid} broke the protocol ({Error}); killing it")]
    public static partial void ChildProtocolError(ILogger logger, string node, int pid, string error);
}
