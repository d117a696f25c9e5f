using Microsoft.Extensions.Logging;

namespace Fennel;

// Remote control (pidbox) and mingle: ids 2500–2549. {Requester} is who asked, as far as the request says: the client's
// reply address (its oid), the node for hello, or "a client that wants no reply".
internal static partial class Log
{
    [LoggerMessage(2500, LogLevel.Debug, "{Node} listens for remote control on celery.pidbox")]
    public static partial void ControlListening(ILogger logger, string node);

    [LoggerMessage(2501, LogLevel.Warning, "{Node}: the broker {Broker} cannot broadcast, so this worker takes no remote control (inspect, control) and does not mingle")]
    public static partial void ControlUnavailable(ILogger logger, string node, string broker);

    [LoggerMessage(2502, LogLevel.Information, "{Node}: shutdown requested by remote control ({Requester}); shutting down warm, as on SIGTERM")]
    public static partial void RemoteShutdown(ILogger logger, string node, string requester);

    [LoggerMessage(2503, LogLevel.Information, "{Node}: pool {Action} by remote control ({Requester}): concurrency {Concurrency}")]
    public static partial void RemotePoolResize(ILogger logger, string node, string action, int concurrency, string requester);

    [LoggerMessage(2504, LogLevel.Information, "{Node}: pool restart requested by remote control ({Requester})")]
    public static partial void RemotePoolRestart(ILogger logger, string node, string requester);

    [LoggerMessage(2505, LogLevel.Error, "{Node}: the pool restart asked by remote control failed; the old pool keeps running")]
    public static partial void RemotePoolRestartFailed(ILogger logger, string node, Exception exception);

    [LoggerMessage(2506, LogLevel.Information, "{Node}: rate limit of {Task} set to {Rate} by remote control ({Requester})")]
    public static partial void RemoteRateLimit(ILogger logger, string node, string task, string rate, string requester);

    [LoggerMessage(2507, LogLevel.Information, "{Node}: time limits of {Task} set to soft={Soft} hard={Hard} by remote control ({Requester}); tasks started from now on follow them")]
    public static partial void RemoteTimeLimit(ILogger logger, string node, string task, string soft, string hard, string requester);

    [LoggerMessage(2508, LogLevel.Information, "{Node} now consumes {Queue} (add_consumer by remote control, {Requester})")]
    public static partial void RemoteQueueAdded(ILogger logger, string node, string queue, string requester);

    [LoggerMessage(2509, LogLevel.Information, "{Node} no longer consumes {Queue} (cancel_consumer by remote control, {Requester})")]
    public static partial void RemoteQueueCancelled(ILogger logger, string node, string queue, string requester);

    [LoggerMessage(2510, LogLevel.Information, "{Node}: task events {State} by remote control ({Requester})")]
    public static partial void RemoteTaskEvents(ILogger logger, string node, string state, string requester);

    [LoggerMessage(2511, LogLevel.Information, "{Node}: tasks flagged as revoked by remote control: {Ids}{Terminate}")]
    public static partial void RemoteRevoke(ILogger logger, string node, string ids, string terminate);

    [LoggerMessage(2512, LogLevel.Information, "{Node}: sync with {From} (hello): {Merged} revoke(s) merged")]
    public static partial void RemoteHello(ILogger logger, string node, string from, int merged);

    [LoggerMessage(2513, LogLevel.Warning, "{Node}: unknown remote-control command '{Method}' ({Requester}); replied with an error")]
    public static partial void ControlUnknownMethod(ILogger logger, string node, string method, string requester);

    [LoggerMessage(2514, LogLevel.Warning, "{Node}: remote-control command '{Method}' ({Requester}) refused: {Reason}")]
    public static partial void ControlBadRequest(ILogger logger, string node, string method, string requester, string reason);

    [LoggerMessage(2515, LogLevel.Error, "{Node}: remote-control command '{Method}' ({Requester}) failed; replied with the error")]
    public static partial void ControlCommandFailed(ILogger logger, string node, string method, string requester, Exception exception);

    [LoggerMessage(2516, LogLevel.Warning, "{Node}: ignored a malformed remote-control request: {Reason}")]
    public static partial void ControlRequestMalformed(ILogger logger, string node, string reason);

    [LoggerMessage(2517, LogLevel.Warning, "{Node}: ignored remote-control command '{Method}' ({Requester}): it expired at {Expires:o}, {Late:0.###} s ago (clocks out of step, or the worker was busy)")]
    public static partial void ControlRequestExpired(ILogger logger, string node, string method, string requester, DateTimeOffset expires, double late);

    [LoggerMessage(2518, LogLevel.Warning, "{Node}: ignored remote-control command '{Method}': its pattern '{Pattern}' ({Matcher}) cannot be used: {Reason}")]
    public static partial void ControlBadPattern(ILogger logger, string node, string method, string pattern, string matcher, string reason);

    [LoggerMessage(2519, LogLevel.Warning, "{Node}: could not send the reply to '{Method}' ({Requester}); the client will not see this node")]
    public static partial void ControlReplyFailed(ILogger logger, string node, string method, string requester, Exception exception);

    [LoggerMessage(2520, LogLevel.Warning, "Ignored a malformed remote-control reply: {Reason}")]
    public static partial void ControlReplyMalformed(ILogger logger, string reason);

    [LoggerMessage(2521, LogLevel.Information, "{Node} mingle: searching for neighbors")]
    public static partial void MingleSearching(ILogger logger, string node);

    [LoggerMessage(2522, LogLevel.Information, "{Node} mingle: sync with {Nodes} node(s) complete; {Merged} revoke(s) merged")]
    public static partial void MingleSynced(ILogger logger, string node, int nodes, int merged);

    [LoggerMessage(2523, LogLevel.Information, "{Node} mingle: all alone")]
    public static partial void MingleAlone(ILogger logger, string node);

    [LoggerMessage(2524, LogLevel.Warning, "{Node} mingle failed; starting without the neighbors' revokes")]
    public static partial void MingleFailed(ILogger logger, string node, Exception exception);

    [LoggerMessage(2525, LogLevel.Warning, "{Node} mingle: ignored the reply of {From}: {Reason}")]
    public static partial void MingleBadReply(ILogger logger, string node, string from, string reason);

    [LoggerMessage(2526, LogLevel.Error, "{Node} could not subscribe to celery.pidbox; it runs without remote control (inspect, control) until restarted")]
    public static partial void ControlSubscribeFailed(ILogger logger, string node, Exception exception);
}
