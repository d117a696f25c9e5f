using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>Turns StackExchange.Redis failures into <see cref="BrokerException"/>s that name the server and the operation.</summary>
internal static class RedisErrors
{
    /// <summary>True for the failures of the client or the server (not for cancellation or our own bugs).</summary>
    public static bool IsRedis(Exception exception) => exception is RedisException or RedisTimeoutException;

    public static BrokerException Wrap(Exception exception, string endpoint, string operation)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var transient = exception is RedisConnectionException or RedisTimeoutException
            || exception is RedisServerException server && (server.Message.StartsWith("LOADING", StringComparison.Ordinal)
                || server.Message.StartsWith("BUSY", StringComparison.Ordinal) || server.Message.StartsWith("READONLY", StringComparison.Ordinal)
                || server.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal) || server.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal));
        return new BrokerException($"Redis at {endpoint} failed to {operation}: {exception.Message}", exception, transient);
    }
}
