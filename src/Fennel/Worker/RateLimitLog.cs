using Microsoft.Extensions.Logging;

namespace Fennel;

// Rate limits in the worker: event ids 2200–2249.
internal static partial class Log
{
    [LoggerMessage(2200, LogLevel.Information, "{Node} rate limits: {Limits}")]
    public static partial void RateLimits(ILogger logger, string node, string limits);

    [LoggerMessage(2201, LogLevel.Information, "{Node} rate limit of task {Task} is now {Rate} ({Scope})")]
    public static partial void RateLimitChanged(ILogger logger, string node, string task, string rate, string scope);

    [LoggerMessage(2202, LogLevel.Warning, "{Node}: {What} a cluster-wide rate limit, but the broker {Broker} cannot share one; each worker limits them on its own instead (Fennel:ClusterRateLimitFallback), so N workers may run N times the rate")]
    public static partial void ClusterRateLimitFallback(ILogger logger, string node, string what, string broker);

    [LoggerMessage(2203, LogLevel.Warning, "{Node} could not take a turn for rate-limited task {Task} from the broker's shared limiter; its {Waiting} waiting task(s) stay held (none runs unlimited) and it asks again in {Delay:0.#} s")]
    public static partial void SharedRateLimiterFailed(ILogger logger, string node, string task, int waiting, double delay, Exception exception);

    [LoggerMessage(2204, LogLevel.Information, "{Node}: the broker's shared rate limiter answers again for task {Task}")]
    public static partial void SharedRateLimiterRecovered(ILogger logger, string node, string task);

    [LoggerMessage(2205, LogLevel.Debug, "Task {Name}[{Id}] is rate-limited ({Rate}) and {Waiting} task(s) already wait for their turn on {Node}; given back to the broker until about {Until:o}")]
    public static partial void RateLimitedGivenBack(ILogger logger, string name, string id, string rate, int waiting, string node, DateTimeOffset until);
}
