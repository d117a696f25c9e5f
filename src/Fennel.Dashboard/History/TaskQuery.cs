using Fennel.Monitoring;

namespace Fennel.Dashboard.History;

/// <summary>What a page of tasks is sorted by. Tasks without the value come last either way.</summary>
public enum TaskSortField
{
    /// <summary>The earliest event (<see cref="TaskInfo.SeenAt"/>).</summary>
    Seen,
    /// <summary><see cref="TaskInfo.ReceivedAt"/>.</summary>
    Received,
    /// <summary><see cref="TaskInfo.StartedAt"/>.</summary>
    Started,
    /// <summary><see cref="TaskInfo.FinishedAt"/>.</summary>
    Finished,
    /// <summary><see cref="TaskInfo.Name"/>, ordinal.</summary>
    Name,
    /// <summary><see cref="TaskInfo.State"/>, by name.</summary>
    State,
    /// <summary><see cref="TaskInfo.Runtime"/>.</summary>
    Runtime,
}

/// <summary>
/// A page of tasks to read: filters (all given ones must hold), a search text, a sort and the page. Time bounds apply
/// to <see cref="TaskInfo.SeenAt"/>: <see cref="From"/> inclusive, <see cref="To"/> exclusive.
/// </summary>
public sealed record TaskQuery
{
    /// <summary>Only tasks in one of these states; null or empty for any.</summary>
    public IReadOnlyCollection<string>? States { get; init; }

    /// <summary>Only tasks of this exact name.</summary>
    public string? Name { get; init; }

    /// <summary>Only tasks of this worker (node name).</summary>
    public string? Worker { get; init; }

    /// <summary>Only tasks sent to this queue.</summary>
    public string? Queue { get; init; }

    /// <summary>Only tasks first seen at or after this.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only tasks first seen before this.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Only tasks whose id, args, kwargs, result or exception contain this text (case-insensitive for ASCII).</summary>
    public string? Search { get; init; }

    /// <summary>The sort.</summary>
    /// <value>Default: <see cref="TaskSortField.Seen"/>.</value>
    public TaskSortField SortBy { get; init; } = TaskSortField.Seen;

    /// <summary>True for newest / largest first.</summary>
    /// <value>Default: true.</value>
    public bool Descending { get; init; } = true;

    /// <summary>How many matching tasks to skip.</summary>
    public int Offset { get; init; }

    /// <summary>At most this many tasks (1 to 1000).</summary>
    /// <value>Default: 50.</value>
    public int Limit { get; init; } = 50;
}

/// <summary>A page of tasks and how many match in all.</summary>
/// <param name="Tasks">The page.</param>
/// <param name="Total">The number of tasks matching the query's filters and search.</param>
public sealed record TaskPage(IReadOnlyList<TaskInfo> Tasks, long Total);

/// <summary>Task events of one minute that led to one state (e.g. 120 <c>SUCCESS</c> between 12:03 and 12:04).</summary>
/// <param name="Minute">The start of the minute (UTC, by the store's clock when the events arrived).</param>
/// <param name="State">The state the events led to.</param>
/// <param name="Count">How many.</param>
public sealed record ThroughputBucket(DateTimeOffset Minute, string State, long Count);
