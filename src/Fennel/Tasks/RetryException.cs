namespace Fennel.Tasks;

/// <summary>
/// Thrown by a task to ask for a retry: <c>throw context.Retry(exception, countdown)</c>. The worker publishes the same
/// task again (same id, <c>retries + 1</c>) and stores the state RETRY.
/// </summary>
public sealed class RetryException : Exception
{
    internal RetryException(Exception? reason, TimeSpan? countdown, int? maxRetries)
        : base(reason is null ? "Retry requested." : $"Retry requested: {reason.Message}", reason)
    {
        Countdown = countdown;
        MaxRetries = maxRetries;
    }

    /// <summary>The delay before the retry; the task's backoff when null.</summary>
    public TimeSpan? Countdown { get; }

    /// <summary>Overrides the task's <see cref="TaskOptions.MaxRetries"/> for this retry.</summary>
    public int? MaxRetries { get; }
}

/// <summary>A task was retried more times than allowed. Celery's <c>MaxRetriesExceededError</c>.</summary>
public sealed class MaxRetriesExceededException(string message, Exception? innerException) : Exception(message, innerException);
