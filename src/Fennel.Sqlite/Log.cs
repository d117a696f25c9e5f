using Microsoft.Extensions.Logging;

namespace Fennel.Sqlite;

/// <summary>The log messages of Fennel.Sqlite. Event ids 5000-5099.</summary>
internal static partial class Log
{
    [LoggerMessage(5000, LogLevel.Information, "Created the Fennel schema (version {Version}) in the SQLite file {Path}")]
    public static partial void SchemaCreated(ILogger logger, string path, int version);

    [LoggerMessage(5001, LogLevel.Debug, "Ack of message {Id} from queue {Queue} ignored: its lease lapsed and another consumer holds it")]
    public static partial void AckAfterLeaseLost(ILogger logger, long id, string queue);

    [LoggerMessage(5002, LogLevel.Warning, "Message {Id} from queue {Queue} was not dead-lettered ({Reason}): its lease lapsed and another consumer holds it")]
    public static partial void DeadLetterAfterLeaseLost(ILogger logger, long id, string queue, string reason);

    [LoggerMessage(5003, LogLevel.Debug, "Deleted {Count} expired results from the SQLite file {Path}")]
    public static partial void ExpiredResultsDeleted(ILogger logger, int count, string path);

    [LoggerMessage(5004, LogLevel.Error, "A subscriber to {Exchange} failed on a message with routing key '{RoutingKey}'")]
    public static partial void BroadcastHandlerFailed(ILogger logger, string exchange, string routingKey, Exception exception);

    [LoggerMessage(5005, LogLevel.Warning, "Reading broadcasts of {Exchange} from the SQLite file {Path} failed; trying again")]
    public static partial void BroadcastReadFailed(ILogger logger, string exchange, string path, Exception exception);
}
