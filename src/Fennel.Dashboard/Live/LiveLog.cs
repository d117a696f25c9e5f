using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Live;

// The live stream's log events: 8035–8036 (of Fennel.Dashboard's 8000–8049).
internal static partial class LiveLog
{
    [LoggerMessage(8035, LogLevel.Warning, "The dashboard could not make a live snapshot; listeners get the next one: {Reason}")]
    public static partial void SnapshotFailed(ILogger logger, string reason, Exception exception);

    [LoggerMessage(8036, LogLevel.Debug, "A live stream for {User} ended: {Reason}")]
    public static partial void StreamEnded(ILogger logger, string? user, string reason);
}
