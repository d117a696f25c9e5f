using Microsoft.Extensions.Logging;

namespace Fennel.RabbitMQ;

/// <summary>The log messages of Fennel.RabbitMQ. Event ids 7000-7099.</summary>
internal static partial class Log
{
    [LoggerMessage(7000, LogLevel.Warning, "Lost the connection to RabbitMQ at {Server} ({Code} {Reason}); reconnecting. Messages held by this process go back to their queues")]
    public static partial void ConnectionLost(ILogger logger, string server, ushort code, string reason);

    [LoggerMessage(7001, LogLevel.Information, "Reconnected to RabbitMQ at {Server}")]
    public static partial void ConnectionRecovered(ILogger logger, string server);

    [LoggerMessage(7002, LogLevel.Warning, "Reconnecting to RabbitMQ at {Server} failed; trying again")]
    public static partial void RecoveryAttemptFailed(ILogger logger, string server, Exception exception);

    [LoggerMessage(7003, LogLevel.Error, "After reconnecting to RabbitMQ at {Server}, re-creating queues and consumers failed")]
    public static partial void RecoveryHandlerFailed(ILogger logger, string server, Exception exception);

    [LoggerMessage(7004, LogLevel.Warning, "RabbitMQ at {Server} blocks publishing: {Reason} (a resource alarm: memory or disk)")]
    public static partial void ConnectionBlocked(ILogger logger, string server, string reason);

    [LoggerMessage(7005, LogLevel.Warning, "A message on channel {Channel} carries header {Header} as a 64-bit integer in py-amqp's 'L' encoding, which RabbitMQ.Client cannot read; Fennel reads it as a signed 64-bit integer ('l'). Later ones are logged at debug level")]
    public static partial void Int64HeaderRewritten(ILogger logger, int channel, string header);

    [LoggerMessage(7015, LogLevel.Debug, "A message on channel {Channel} carries header {Header} in py-amqp's 'L' encoding; read as a signed 64-bit integer")]
    public static partial void Int64HeaderRewrittenAgain(ILogger logger, int channel, string header);

    [LoggerMessage(7006, LogLevel.Debug, "The {Action} of message {Tag} from queue {Queue} changed nothing: its lease lapsed or its channel closed, and it went back to the queue")]
    public static partial void SettleAfterLeaseLost(ILogger logger, string action, string tag, string queue);

    [LoggerMessage(7007, LogLevel.Warning, "Counting a redelivery of a message from queue {Queue} failed; it stays on the broker and comes back")]
    public static partial void RedeliveryCountFailed(ILogger logger, string queue, Exception exception);

    [LoggerMessage(7008, LogLevel.Information, "Task message {Tag} from queue {Queue} has run for {Minutes:0.#} min, over half of RabbitMQ's consumer_timeout; it now waits in lease queue {LeaseQueue} so the broker does not close the channel")]
    public static partial void HandedOff(ILogger logger, string tag, string queue, double minutes, string leaseQueue);

    [LoggerMessage(7009, LogLevel.Warning, "Moving long-running message {Tag} from queue {Queue} to its lease queue failed; trying again at the next renewal")]
    public static partial void HandOffFailed(ILogger logger, string tag, string queue, Exception exception);

    [LoggerMessage(7010, LogLevel.Error, "A subscriber to {Exchange} failed on a message with routing key '{RoutingKey}'")]
    public static partial void BroadcastHandlerFailed(ILogger logger, string exchange, string routingKey, Exception exception);

    [LoggerMessage(7011, LogLevel.Warning, "RabbitMQ closed channel {Channel} of {Server}: {Code} {Reason}")]
    public static partial void ChannelClosed(ILogger logger, int channel, string server, ushort code, string reason);

    [LoggerMessage(7012, LogLevel.Warning, "Settling message {Tag} from queue {Queue} failed ({Action}); it goes back to the queue when the channel closes")]
    public static partial void SettleFailed(ILogger logger, string tag, string queue, string action, Exception exception);

    [LoggerMessage(7013, LogLevel.Warning, "The {State} result of task {TaskId} was not sent: the task message had no reply_to, so an rpc:// result has nowhere to go")]
    public static partial void RpcResultWithoutReplyTo(ILogger logger, string taskId, string state);

    [LoggerMessage(7014, LogLevel.Warning, "Ignored an unreadable message on reply queue {Queue} (correlation id {CorrelationId})")]
    public static partial void RpcResultUnreadable(ILogger logger, string queue, string? correlationId, Exception exception);

    [LoggerMessage(7017, LogLevel.Warning, "Ignored an unreadable message on the revoke stream {Stream}")]
    public static partial void UnreadableRevoke(ILogger logger, string stream, Exception exception);

    [LoggerMessage(7016, LogLevel.Warning, "The queue {Queue} already has {Consumers} consumer(s): another node of the same name uses this mailbox, and each gets only some of its requests. Give every node a name of its own")]
    public static partial void SubscriberQueueInUse(ILogger logger, string queue, uint consumers);
}
