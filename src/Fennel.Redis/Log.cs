using Microsoft.Extensions.Logging;

namespace Fennel.Redis;

/// <summary>The log messages of Fennel.Redis. Event ids 6000-6099.</summary>
internal static partial class Log
{
    [LoggerMessage(6000, LogLevel.Warning, "Dead-lettered a message from queue {Queue} ({Length} bytes, dead letter {Id}): it is not a kombu envelope with a delivery tag")]
    public static partial void MalformedMessageDeadLettered(ILogger logger, string queue, string id, int length);

    [LoggerMessage(6001, LogLevel.Debug, "The {Action} of message {Tag} from queue {Queue} changed nothing: its lease lapsed and it went back to the queue or to another consumer")]
    public static partial void SettleAfterLeaseLost(ILogger logger, string action, string tag, string queue);

    [LoggerMessage(6002, LogLevel.Warning, "Restoring lapsed messages on Redis at {Endpoint} failed; trying again")]
    public static partial void RestoreFailed(ILogger logger, string endpoint, Exception exception);

    [LoggerMessage(6003, LogLevel.Information, "Restored {Count} messages whose lease lapsed or whose ETA is due on Redis at {Endpoint}")]
    public static partial void Restored(ILogger logger, int count, string endpoint);

    [LoggerMessage(6004, LogLevel.Error, "Moved held message {Tag} to the dead letters: {Reason}")]
    public static partial void LapsedMessageDeadLettered(ILogger logger, string tag, string reason);

    [LoggerMessage(6005, LogLevel.Error, "A subscriber to {Exchange} failed on a message with routing key '{RoutingKey}'")]
    public static partial void BroadcastHandlerFailed(ILogger logger, string exchange, string routingKey, Exception exception);


    [LoggerMessage(6006, LogLevel.Warning, "Reading the reply list {Queue} failed; trying again")]
    public static partial void DirectPollFailed(ILogger logger, string queue, Exception exception);

    [LoggerMessage(6007, LogLevel.Warning, "Removing the binding and list of {Queue} failed; they stay on the server, as a dead kombu client's do")]
    public static partial void DirectUnbindFailed(ILogger logger, string queue, Exception exception);
}
