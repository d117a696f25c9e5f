using Microsoft.Extensions.Logging;

namespace Fennel;

// Celery events: sending them (worker, task-sent) and receiving them. Event ids 2400–2449.
internal static partial class Log
{
    [LoggerMessage(2400, LogLevel.Information, "{Node} task events switched {State}")]
    public static partial void TaskEventsSwitched(ILogger logger, string node, string state);

    [LoggerMessage(2401, LogLevel.Information, "{Node} sends events on celeryev: worker events every {Interval} s, task events {State}")]
    public static partial void EventsStarted(ILogger logger, string node, double interval, string state);

    [LoggerMessage(2402, LogLevel.Warning, "{Node} sends no events: the broker {Broker} cannot broadcast, so monitors (celery events, Flower) will not see this worker")]
    public static partial void EventsUnavailable(ILogger logger, string node, string broker);

    [LoggerMessage(2403, LogLevel.Warning, "{Node} dropped {Count} event(s) ({Total} in all): {Reason}")]
    public static partial void EventsDropped(ILogger logger, string node, long count, long total, string reason);

    [LoggerMessage(2404, LogLevel.Warning, "Skipped an event on celeryev with routing key '{RoutingKey}': {Reason}")]
    public static partial void EventSkipped(ILogger logger, string routingKey, string reason);

    [LoggerMessage(2405, LogLevel.Error, "The event handler failed on {Type} from {Sender}; the next event follows")]
    public static partial void EventHandlerFailed(ILogger logger, string type, string sender, Exception exception);

    [LoggerMessage(2406, LogLevel.Warning, "task-sent events are on (Fennel:TaskSentEvents) but the broker {Broker} cannot broadcast; none are sent")]
    public static partial void TaskSentEventsUnavailable(ILogger logger, string broker);
}
