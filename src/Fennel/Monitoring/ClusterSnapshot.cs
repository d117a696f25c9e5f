namespace Fennel.Monitoring;

/// <summary>A consistent, immutable view of a <see cref="ClusterState"/> at one moment.</summary>
/// <param name="TakenAt">When it was taken; <see cref="WorkerInfo.IsOnline"/> is judged at this time.</param>
/// <param name="Workers">The workers, by hostname.</param>
/// <param name="Tasks">The tasks, the most recently updated first.</param>
/// <param name="EventCount">Events applied since the state was created.</param>
public sealed record ClusterSnapshot(DateTimeOffset TakenAt, IReadOnlyList<WorkerInfo> Workers, IReadOnlyList<TaskInfo> Tasks, long EventCount);
