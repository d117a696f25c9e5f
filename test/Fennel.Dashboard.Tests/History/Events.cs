using Fennel.Events;

namespace Fennel.Dashboard.Tests.History;

/// <summary>Celery events for tests, stamped with a given sender time.</summary>
internal static class Events
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static double At(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / 1000.0;

    public static TaskSentEvent Sent(string id, DateTimeOffset time, string name = "tasks.add", string queue = "celery",
        string? args = "(2, 3)", string? kwargs = "{}", string? parent = null) => new()
    {
        TaskId = id, Hostname = "gen1@client", Timestamp = At(time), Name = name, Queue = queue, RoutingKey = queue,
        Args = args, Kwargs = kwargs, ParentId = parent, RootId = parent,
    };

    public static TaskReceivedEvent Received(string id, DateTimeOffset time, string worker = "w1@host", string name = "tasks.add",
        string? args = "(2, 3)", string? kwargs = "{}", string? parent = null) => new()
    {
        TaskId = id, Hostname = worker, Timestamp = At(time), Name = name, Args = args, Kwargs = kwargs, ParentId = parent, RootId = parent,
    };

    public static TaskStartedEvent Started(string id, DateTimeOffset time, string worker = "w1@host") =>
        new() { TaskId = id, Hostname = worker, Timestamp = At(time) };

    public static TaskSucceededEvent Succeeded(string id, DateTimeOffset time, string worker = "w1@host", string? result = "5", double runtime = 0.5) =>
        new() { TaskId = id, Hostname = worker, Timestamp = At(time), Result = result, Runtime = runtime };

    public static TaskFailedEvent Failed(string id, DateTimeOffset time, string worker = "w1@host", string exception = "ValueError('boom')") =>
        new() { TaskId = id, Hostname = worker, Timestamp = At(time), Exception = exception, Traceback = "Traceback (most recent call last):\n..." };

    public static TaskRetriedEvent Retried(string id, DateTimeOffset time, string worker = "w1@host") =>
        new() { TaskId = id, Hostname = worker, Timestamp = At(time), Exception = "Retry('again')" };

    /// <summary>The four events of a task that succeeds: sent, received, started one second later, succeeded after <paramref name="runtime"/>.</summary>
    public static CeleryEvent[] Lifecycle(string id, DateTimeOffset time, string name = "tasks.add", string worker = "w1@host",
        string queue = "celery", double runtime = 0.5, string? args = "(2, 3)", string? result = "5") =>
    [
        Sent(id, time, name, queue, args),
        Received(id, time.AddMilliseconds(10), worker, name, args),
        Started(id, time.AddSeconds(1), worker),
        Succeeded(id, time.AddSeconds(1 + runtime), worker, result, runtime),
    ];
}
