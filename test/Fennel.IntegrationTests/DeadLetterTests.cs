using System.Text;
using System.Text.Json.Nodes;
using Fennel.Results;
using Fennel.Transport;

namespace Fennel.IntegrationTests;

public sealed class DeadLetterTests : IAsyncLifetime
{
    private readonly IntegrationSandbox _sandbox = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    [Fact]
    public async Task Unknown_task_malformed_json_and_wrong_argument_count_are_dead_lettered_and_the_worker_keeps_serving()
    {
        var worker = _sandbox.StartTestApp("worker", "worker", "-Q", "celery", "-c", "2", "-l", "warning");
        var app = _sandbox.App;

        var unknown = await app.Client.SendTaskAsync("no.such.task", [1]);
        await ((Fennel.Sqlite.SqliteTransport)app.Transport).PublishStoredAsync("celery", Encoding.UTF8.GetBytes("{not json"));
        var wrongCount = await app.Client.SendTaskAsync("core.echo", [1, 2]);
        var valid = await app.Client.SendTaskAsync("core.echo", [5]);

        var result = await valid.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(result.State == TaskState.Success && result.Result?["n"]?.GetValue<int>() == 5,
            $"core.echo(5) ended {result.State.ToWire()} with {result.Result?.ToJsonString()}.\n{worker.Describe()}");

        var store = Assert.IsAssignableFrom<IDeadLetterStore>(app.Transport);
        IReadOnlyList<DeadLetter> letters = [];
        await Eventually.HoldsAsync(async () => (letters = await store.ListDeadLettersAsync()).Count >= 3,
            () => $"three dead letters; there are {letters.Count}: {string.Join(" | ", letters.Select(l => l.Reason))}.\n{worker.Describe()}", TimeSpan.FromSeconds(30));
        var reasons = letters.Select(l => l.Reason).ToList();
        var all = string.Join("\n", reasons);
        Assert.True(reasons.Count == 3, $"Expected three dead letters, found {reasons.Count}:\n{all}");
        Assert.True(reasons.Count(r => r.Contains("unknown task", StringComparison.OrdinalIgnoreCase) && r.Contains("no.such.task", StringComparison.Ordinal)) == 1,
            $"No dead letter says unknown task 'no.such.task':\n{all}");
        Assert.True(reasons.Count(r => r.Contains("malformed", StringComparison.OrdinalIgnoreCase)) == 1, $"No dead letter says malformed:\n{all}");
        Assert.True(reasons.Count(r => r.Contains("argument", StringComparison.OrdinalIgnoreCase) && r.Contains(wrongCount.Id, StringComparison.Ordinal)) == 1,
            $"No dead letter of core.echo[{wrongCount.Id}] says argument(s):\n{all}");
        Assert.Contains(letters, l => Encoding.UTF8.GetString(l.Body.Span) == "{not json");

        // The senders learn it too: both tasks end FAILURE rather than staying PENDING for ever.
        Assert.Equal(TaskState.Failure, (await unknown.WaitAsync(TimeSpan.FromSeconds(10))).State);
        Assert.Equal(TaskState.Failure, (await wrongCount.WaitAsync(TimeSpan.FromSeconds(10))).State);

        // And the worker still serves.
        var after = await app.Client.SendTaskAsync("core.echo", [JsonValue.Create(6)]);
        Assert.Equal(TaskState.Success, (await after.WaitAsync(TimeSpan.FromSeconds(30))).State);
        Assert.False(worker.HasExited, $"The worker exited.\n{worker.Describe()}");
    }
}
