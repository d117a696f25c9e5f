using System.Text.Json;
using System.Text.Json.Serialization;
using Fennel.Dashboard.History;
using Fennel.Monitoring;

namespace Fennel.Dashboard.Api;

/// <summary>The API's JSON: snake_case names (as Celery and Flower), nulls left out.</summary>
internal static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

internal sealed record WorkerView(string Node, bool Online, DateTimeOffset? LastHeartbeat, DateTimeOffset? OfflineAt, int? Active,
    long? Processed, IReadOnlyList<double>? Load, double Freq, int? Pid, SoftwareView Sw)
{
    /// <summary>A worker from the cluster state or the history; <c>last_heartbeat</c> stays after <c>worker-offline</c>.</summary>
    public static WorkerView From(WorkerInfo w) => new(w.Hostname, w.IsOnline, w.LastHeard, w.OfflineAt, w.Active, w.Processed,
        w.LoadAverage, w.Freq, w.Pid, new SoftwareView(w.SoftwareIdentity, w.SoftwareVersion, w.SoftwareSystem));

    /// <summary>How many of the history's tasks it failed (absent when the history holds none of its tasks as failed).</summary>
    public long? Failed { get; init; }
}

internal sealed record SoftwareView(string? Ident, string? Ver, string? Sys);

internal sealed record TaskView(string Id, string? Name, string State, DateTimeOffset? StateTime, string? Worker, string? Queue,
    string? Args, string? Kwargs, string? Result, string? Exception, double? Runtime, int? Retries, string? Eta, string? Expires,
    string? RootId, string? ParentId, DateTimeOffset? SeenAt, DateTimeOffset? SentAt, DateTimeOffset? ReceivedAt, DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt, DateTimeOffset LastUpdated)
{
    public static TaskView From(TaskInfo t) => new(t.Id, t.Name, t.State, t.StateTime, t.Worker, t.Queue, t.Args, t.Kwargs, t.Result,
        t.Exception, t.Runtime, t.Retries, t.Eta, t.Expires, t.RootId, t.ParentId, t.SeenAt, t.SentAt, t.ReceivedAt, t.StartedAt,
        t.FinishedAt, t.LastUpdated);
}

internal sealed record TaskDetailView(TaskView Task, string? Traceback, string? Client, string? RoutingKey, bool? Terminated, bool? Expired,
    IReadOnlyList<TimelineView> Timeline, IReadOnlyList<TaskView> Children)
{
    public static TaskDetailView From(TaskDetail d) => new(TaskView.From(d.Task), d.Task.Traceback, d.Task.Client, d.Task.RoutingKey,
        d.Task.Terminated, d.Task.Expired, [.. d.Timeline.Select(e => new TimelineView(e.Type, e.Time, e.Hostname, e.ReceivedAt))],
        [.. d.Children.Select(TaskView.From)]);
}

internal sealed record TimelineView(string Type, DateTimeOffset Time, string Hostname, DateTimeOffset ReceivedAt);

internal sealed record TaskPageView(long Total, int Offset, int Limit, IReadOnlyList<TaskView> Tasks);

internal sealed record OverviewView(WorkerCountsView Workers, TaskCountsView Tasks, ThroughputView Throughput);

internal sealed record WorkerCountsView(int Online, int Offline);

internal sealed record TaskCountsView(long Active, long Total, IReadOnlyDictionary<string, long> ByState);

internal sealed record ThroughputView(int Minutes, IReadOnlyList<MinuteView> PerMinute);

internal sealed record MinuteView(DateTimeOffset Minute, long Total, IReadOnlyDictionary<string, long> ByState);

internal sealed record QueueView(string Name, long? Messages, IReadOnlyList<string> Consumers, long? DeadLetters, string? Error)
{
    /// <summary>Tasks sent to it per minute, averaged over the last five minutes (known from <c>task-sent</c> events).</summary>
    public double? PerMinute { get; init; }
}

internal sealed record ErrorView(string Error);
