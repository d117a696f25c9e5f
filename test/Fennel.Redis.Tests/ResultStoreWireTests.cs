using System.Text.Json.Nodes;
using Fennel.Results;
using StackExchange.Redis;

namespace Fennel.Redis.Tests;

/// <summary>Results are written the way Celery's Redis backend writes them, so Python clients read them.</summary>
public sealed class ResultStoreWireTests : IAsyncLifetime
{
    private readonly RedisResultStore _store = RedisTestDatabase.NewResultStore();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task Result_is_written_with_setex_and_publish_in_one_transaction()
    {
        var taskId = Guid.NewGuid().ToString();
        var key = "celery-task-meta-" + taskId;
        var announced = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await RedisTestDatabase.Subscriber.SubscribeAsync(RedisChannel.Literal(key), (_, value) => announced.TrySetResult(value!));
        await using var monitor = await RedisMonitor.StartAsync();

        await _store.StoreAsync(new TaskResult
        {
            TaskId = taskId,
            State = TaskState.Success,
            Result = JsonValue.Create(5),
            DateDone = new DateTimeOffset(2026, 11, 25, 11, 2, 29, 325, TimeSpan.Zero),
        }, TimeSpan.FromDays(1));

        var stored = (string)(await RedisTestDatabase.Database.StringGetAsync(key))!;
        Assert.Equal(stored, await announced.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        var json = JsonNode.Parse(stored)!.AsObject();
        Assert.Equal(["status", "result", "traceback", "children", "date_done", "task_id"], json.Select(p => p.Key));
        Assert.Equal("SUCCESS", (string?)json["status"]);
        Assert.Equal(5, (int)json["result"]!);
        Assert.Null(json["traceback"]);
        Assert.Empty(json["children"]!.AsArray());
        Assert.Equal("2026-11-25T11:02:29.325000", (string?)json["date_done"]);
        Assert.Equal(taskId, (string?)json["task_id"]);
        var ttl = await RedisTestDatabase.Database.KeyTimeToLiveAsync(key);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(86390), TimeSpan.FromSeconds(86400));

        // The commands, in order, on one connection: MULTI, SETEX key 86400 value, PUBLISH key value, EXEC.
        await Eventually.HoldsAsync(() => monitor.LinesWith("\"EXEC\"").Count > 0, "MONITOR to show the EXEC");
        var commands = monitor.LinesWith(key);
        Assert.Contains(commands, l => l.Contains($"\"SETEX\" \"{key}\" \"86400\"", StringComparison.Ordinal));
        Assert.Contains(commands, l => l.Contains($"\"PUBLISH\" \"{key}\"", StringComparison.Ordinal));
        Assert.NotEmpty(monitor.LinesWith("\"MULTI\""));
        Assert.NotEmpty(monitor.LinesWith("\"EXEC\""));
    }

    [Fact]
    public async Task A_result_celery_stored_is_read()
    {
        var taskId = Guid.NewGuid().ToString();
        var stored = $$"""{"status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": ["boom"], "exc_module": "builtins"}, "traceback": "Traceback (most recent call last):\n  ...\nValueError: boom\n", "children": [], "date_done": "2026-11-25T11:58:37.770666", "task_id": "{{taskId}}"}""";
        await RedisTestDatabase.Database.StringSetAsync("celery-task-meta-" + taskId, stored, TimeSpan.FromMinutes(5));

        var result = await _store.WaitAsync(taskId, TimeSpan.FromSeconds(5));

        Assert.Equal(TaskState.Failure, result.State);
        Assert.Equal("ValueError", (string?)result.Result!["exc_type"]);
        Assert.Equal("boom", (string?)result.Result!["exc_message"]![0]);
        Assert.StartsWith("Traceback", result.Traceback, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Waiting_wakes_on_the_announcement_of_a_result_stored_later()
    {
        var taskId = Guid.NewGuid().ToString();
        var waiting = _store.WaitAsync(taskId, TimeSpan.FromSeconds(30));
        // The waiter listens once it has subscribed to the task's channel.
        await Eventually.HoldsAsync(async () =>
            (long)((RedisResult[])(await RedisTestDatabase.Database.ExecuteAsync("PUBSUB", "NUMSUB", "celery-task-meta-" + taskId))!)[1] > 0,
            $"a subscriber on celery-task-meta-{taskId}");
        Assert.False(waiting.IsCompleted);

        // Another writer: Celery's SETEX + PUBLISH, as a Python worker sends it.
        var value = $$"""{"status": "SUCCESS", "result": 7, "traceback": null, "children": [], "date_done": "2026-11-25T11:58:38.802426", "task_id": "{{taskId}}"}""";
        var transaction = RedisTestDatabase.Database.CreateTransaction();
        _ = transaction.StringSetAsync("celery-task-meta-" + taskId, value, TimeSpan.FromMinutes(5));
        _ = transaction.PublishAsync(RedisChannel.Literal("celery-task-meta-" + taskId), value);
        await transaction.ExecuteAsync();

        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(4)); // well before the 5 s safety re-read
        Assert.Equal(7, (int)result.Result!);
    }
}
