using System.Text.Json.Nodes;
using Fennel.Control;
using Fennel.Protocol;
using Fennel.Python;

namespace Fennel.Worker;

/// <summary>
/// A message the worker holds as a task request, for the <c>active</c>, <c>reserved</c> and <c>scheduled</c> inspections:
/// reserved from dispatch, scheduled while its ETA is ahead, active from when a runner takes it until it is settled.
/// </summary>
internal sealed class TrackedRequest(TaskJob job)
{
    private long _startedTicks;

    public TaskJob Job { get; } = job;

    /// <summary>When a runner took it (UTC); null while it waits.</summary>
    public DateTimeOffset? StartedAt => Interlocked.Read(ref _startedTicks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    public void Start(DateTimeOffset now) => Interlocked.Exchange(ref _startedTicks, now.UtcTicks);

    /// <summary>True while it waits for an ETA still ahead.</summary>
    public bool IsScheduled(DateTimeOffset now) => Job.Message.Eta is { } eta && eta > now;

    /// <summary>Celery's <c>Request.info()</c>.</summary>
    public JsonObject Info(Worker worker, bool safe)
    {
        var message = Job.Message;
        var started = StartedAt;
        return new JsonObject
        {
            ["id"] = message.Id,
            ["name"] = message.Task,
            ["args"] = safe ? message.ArgsRepr ?? PythonRepr.Args(message.Args) : message.Args.DeepClone(),
            ["kwargs"] = safe ? message.KwargsRepr ?? PythonRepr.Kwargs(message.Kwargs) : message.Kwargs.DeepClone(),
            ["type"] = message.Task,
            ["hostname"] = worker.Name,
            ["time_start"] = started is { } s ? PythonJson.Float(s.ToUnixTimeMilliseconds() / 1000.0) : null,
            ["acknowledged"] = false, // late ack: acknowledged once it has finished
            ["delivery_info"] = new JsonObject
            {
                ["exchange"] = "",
                ["routing_key"] = Job.Delivery.Queue,
                ["priority"] = message.Priority,
                ["redelivered"] = Job.Delivery.Redelivered,
            },
            ["worker_pid"] = started is null ? null : worker.RunnerPid,
        };
    }
}
