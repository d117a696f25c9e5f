namespace Fennel.Tasks;

/// <summary>How a task behaves when it runs: retries, time limits, result handling, its queue.</summary>
public sealed record TaskOptions
{
    /// <summary>The queue for this task when the call names none; routers decide when this is null too.</summary>
    public string? Queue { get; init; }

    /// <summary>How many times the task may be retried. <value>Default: 3 (Celery's <c>max_retries</c>).</value></summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>Exception types (and their subtypes) that retry the task automatically (Celery's <c>autoretry_for</c>).</summary>
    public IReadOnlyList<Type> AutoRetryFor { get; init; } = [];

    /// <summary>The first retry delay; each later one doubles it. <value>Default: 1 second.</value></summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest retry delay. <value>Default: 10 minutes (Celery's <c>retry_backoff_max</c>).</value></summary>
    public TimeSpan RetryBackoffMax { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Spread retries out: each delay is drawn from [delay/2, delay] so failed tasks do not come back in step.
    /// <value>Default: true.</value>
    /// </summary>
    public bool RetryJitter { get; init; } = true;

    /// <summary>The soft time limit: the task's cancellation token fires after it.</summary>
    public TimeSpan? SoftTimeLimit { get; init; }

    /// <summary>The hard time limit: the task is given up after it and fails with <c>TimeLimitExceeded</c>.</summary>
    public TimeSpan? TimeLimit { get; init; }

    /// <summary>Store no result for this task. <value>Default: false.</value></summary>
    public bool IgnoreResult { get; init; }

    /// <summary>
    /// Mark every argument as sensitive: the <c>argsrepr</c> / <c>kwargsrepr</c> headers, events and logs show <c>'***'</c>
    /// in place of all of them. <value>Default: false.</value>
    /// </summary>
    public bool Sensitive { get; init; }

    /// <summary>
    /// Arguments to show as <c>'***'</c>, by handler parameter name (<c>password</c>) or its snake_case name
    /// (<c>card_number</c>), in the <c>argsrepr</c> / <c>kwargsrepr</c> headers, in <c>task-sent</c> and
    /// <c>task-received</c> events and in logs; the same as <see cref="SensitiveAttribute"/> on the parameter. A name that
    /// is not an argument of the handler fails registration. <value>Default: none.</value>
    /// </summary>
    public IReadOnlyList<string> SensitiveArguments { get; init; } = [];

    /// <summary>
    /// How often the task may start (Celery's <c>rate_limit</c>): <c>"100/s"</c>, <c>"10/m"</c>, <c>"500/h"</c>, or a bare
    /// number per second; null or <c>"0"</c> for none. Checked at registration (<see cref="Tasks.RateLimit"/>). Tasks
    /// over the rate wait in the worker, holding their message, until their turn. <value>Default: none.</value>
    /// </summary>
    public string? RateLimit { get; init; }

    /// <summary>
    /// Whether <see cref="RateLimit"/> holds per worker or across every worker on the broker.
    /// <value>Default: null, the app's <see cref="Configuration.FennelOptions.RateLimitScope"/> (per worker unless set).</value>
    /// </summary>
    public RateLimitScope? RateLimitScope { get; init; }

    /// <summary>The retry delay for attempt <paramref name="retries"/> (0 for the first retry).</summary>
    public TimeSpan BackoffFor(int retries, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var factor = Math.Pow(2, Math.Clamp(retries, 0, 30));
        var delay = Math.Min(RetryBackoff.TotalMilliseconds * factor, RetryBackoffMax.TotalMilliseconds);
        if (RetryJitter) delay = delay / 2 + random.NextDouble() * delay / 2;
        return TimeSpan.FromMilliseconds(delay);
    }
}
