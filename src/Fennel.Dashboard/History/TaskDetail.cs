using Fennel.Monitoring;

namespace Fennel.Dashboard.History;

/// <summary>One task with its timeline (in sender-time order) and the tasks it called.</summary>
/// <param name="Task">The task (its <see cref="TaskInfo.Timeline"/> is empty: the history keeps timelines apart).</param>
/// <param name="Timeline">Its events, oldest first; at most <see cref="TaskHistoryOptions.MaxTimelineEntries"/>.</param>
/// <param name="Children">The tasks whose parent it is, oldest first.</param>
public sealed record TaskDetail(TaskInfo Task, IReadOnlyList<TaskTimelineEntry> Timeline, IReadOnlyList<TaskInfo> Children);
