namespace Fennel.Tasks;

/// <summary>Options of one call (Celery's <c>apply_async</c> keywords). Every one is optional.</summary>
public sealed record CallOptions
{
    /// <summary>Run no sooner than this long from now (converted to <see cref="Eta"/> when sent).</summary>
    public TimeSpan? Countdown { get; init; }

    /// <summary>Run no sooner than this time.</summary>
    public DateTimeOffset? Eta { get; init; }

    /// <summary>Do not run after this time; the task ends REVOKED.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>Do not run after this long from now (converted to <see cref="Expires"/> when sent).</summary>
    public TimeSpan? ExpiresIn { get; init; }

    /// <summary>Priority 0..9.</summary>
    public int? Priority { get; init; }

    /// <summary>The queue; overrides every router.</summary>
    public string? Queue { get; init; }

    /// <summary>The task id; a new UUID when null.</summary>
    public string? TaskId { get; init; }

    /// <summary>Custom headers, sent at the top level of the message headers as Celery does.</summary>
    public IReadOnlyDictionary<string, object?>? Headers { get; init; }

    /// <summary>Store no result.</summary>
    public bool? IgnoreResult { get; init; }

    /// <summary>The soft time limit for this call.</summary>
    public TimeSpan? SoftTimeLimit { get; init; }

    /// <summary>The hard time limit for this call.</summary>
    public TimeSpan? TimeLimit { get; init; }

    /// <summary>The name to show in logs in place of the task name (Celery's <c>shadow</c>).</summary>
    public string? Shadow { get; init; }

    /// <summary>Where results go (the reply_to property); the client's own id when null.</summary>
    public string? ReplyTo { get; init; }
}
