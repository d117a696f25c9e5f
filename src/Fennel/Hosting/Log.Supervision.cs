using Microsoft.Extensions.Logging;

namespace Fennel;

// The worker's life under a supervisor: pid file, systemd notifications and watchdog, health endpoint. Event ids 1100–1149.
internal static partial class Log
{
    [LoggerMessage(1100, LogLevel.Debug, "Pid file {Path} written with pid {Pid}")]
    public static partial void PidFileWritten(ILogger logger, string path, int pid);

    [LoggerMessage(1101, LogLevel.Warning, "Pid file {Path} named {Owner}, which is not running: replaced it with pid {Pid}")]
    public static partial void PidFileStale(ILogger logger, string path, string owner, int pid);

    [LoggerMessage(1102, LogLevel.Warning, "Could not remove pid file {Path}; remove it by hand if the worker is not running")]
    public static partial void PidFileNotRemoved(ILogger logger, string path, Exception exception);

    [LoggerMessage(1103, LogLevel.Information, "systemd: notifying {Socket}; watchdog {Watchdog}")]
    public static partial void SystemdNotifying(ILogger logger, string socket, string watchdog);

    [LoggerMessage(1104, LogLevel.Warning, "systemd: could not send {State} to {Socket}")]
    public static partial void SystemdNotifyFailed(ILogger logger, string state, string socket, Exception exception);

    [LoggerMessage(1105, LogLevel.Warning, "systemd: NOTIFY_SOCKET '{Socket}' is neither a path nor an @abstract name; no notifications are sent")]
    public static partial void SystemdSocketUnsupported(ILogger logger, string socket);

    [LoggerMessage(1106, LogLevel.Error, "{Node}: the fetch loop has not gone round for {Seconds:0.#} s (a broker call that does not return?); watchdog pings stop, health reports 503")]
    public static partial void FetchLoopStuck(ILogger logger, string node, double seconds);

    [LoggerMessage(1107, LogLevel.Information, "{Node}: the fetch loop goes round again; watchdog pings resume")]
    public static partial void FetchLoopAlive(ILogger logger, string node);

    [LoggerMessage(1108, LogLevel.Information, "Health endpoint: http://{Endpoint}/healthz")]
    public static partial void HealthListening(ILogger logger, string endpoint);

    [LoggerMessage(1109, LogLevel.Debug, "Health endpoint: a request from {Remote} failed")]
    public static partial void HealthRequestFailed(ILogger logger, string remote, Exception exception);
}
