using System.Text;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Control;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Testing;
using Fennel.Worker;

namespace Fennel.Tests.Worker;

/// <summary>Revokes on the in-memory broker: the worker's checks, the bounded set, and Celery's control request.</summary>
public class RevokeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_task_revoked_before_any_worker_started_is_discarded_and_ends_revoked()
    {
        await using var app = TestApps.Create();
        var runs = 0;
        var work = app.Task<int, int>("tasks.work", (int n) => Interlocked.Increment(ref runs));
        var revoked = await work.DelayAsync(1);
        var kept = await work.DelayAsync(2);
        await revoked.RevokeAsync();

        await using var worker = app.CreateWorker();
        await worker.StartAsync();

        Assert.Equal(TaskState.Success, (await kept.WaitAsync(Wait)).State);
        var result = await revoked.WaitAsync(Wait);
        Assert.Equal(TaskState.Revoked, result.State);
        var error = Assert.IsType<TaskFailedException>(await Record.ExceptionAsync(() => revoked.GetAsync<int>(Wait)));
        Assert.Equal("TaskRevokedError", error.RemoteType);
        Assert.Equal("revoked", error.RemoteMessage);
        Assert.Equal(1, runs);
        Assert.Equal(0, await app.Transport.GetQueueLengthAsync(app.Options.DefaultQueue));
    }

    [Fact]
    public async Task Terminate_stops_a_running_task_and_it_ends_revoked_terminated()
    {
        await using var app = TestApps.Create();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sleep = app.Task<int, int>("tasks.sleep", async (int ms, CancellationToken ct) =>
        {
            started.TrySetResult();
            await Task.Delay(ms, ct);
            return ms;
        });
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var running = await sleep.DelayAsync(600_000);
        await started.Task.WaitAsync(Wait);

        await running.RevokeAsync(terminate: true);

        var result = await running.WaitAsync(Wait);
        Assert.Equal(TaskState.Revoked, result.State);
        Assert.Equal("terminated", result.Result?["exc_message"]?[0]?.GetValue<string>());
    }

    [Fact]
    public async Task A_handle_made_without_a_client_says_how_to_revoke()
    {
        await using var app = TestApps.Create();
        var handle = new AsyncResult("abc", app.Results, app.Json);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => handle.RevokeAsync());

        Assert.Contains("app.Client.GetResult(\"abc\")", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_revoked_set_forgets_expired_ids_and_the_one_expiring_first_when_full()
    {
        var now = DateTimeOffset.UtcNow;
        var set = new RevokedTasks(2, TimeProvider.System);

        Assert.Null(set.Add("expired", now.AddSeconds(-1)));
        Assert.Null(set.Add("a", now.AddHours(1)));
        Assert.Null(set.Add("b", now.AddHours(3)));
        Assert.Equal("a", set.Add("c", now.AddHours(2)));

        Assert.False(set.Contains("expired"));
        Assert.False(set.Contains("a"));
        Assert.True(set.Contains("b"));
        Assert.True(set.Contains("c"));
        Assert.Equal(2, set.Count);
    }

    [Theory]
    [InlineData("control/redis/revoke.json")]
    [InlineData("control/amqp/revoke.json")]
    public void The_revoke_request_is_the_one_celery_sends(string vector)
    {
        var captured = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, vector))["exchanges"]![0]!["request"]!["body_decoded"]!.AsObject();
        var taskId = captured["arguments"]!["task_id"]!.GetValue<string>();

        var envelope = KombuEnvelope.Decode((PidboxRequest.Revoke([taskId], terminate: false) with { Expires = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds() }).Encode());

        Assert.True(JsonNode.DeepEquals(captured, envelope.BodyJson()), $"sent {Encoding.UTF8.GetString(envelope.Body)}, Celery sends {captured.ToJsonString()}");
        Assert.Equal("celery.pidbox", envelope.Exchange);
        Assert.True(envelope.Headers["expires"]!.GetValue<double>() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    [Fact]
    public void Many_ids_with_terminate_go_as_a_list_in_one_request()
    {
        var body = KombuEnvelope.Decode(PidboxRequest.Revoke(["a", "b"], terminate: true).Encode()).BodyJson()!;

        Assert.True(JsonNode.DeepEquals(new JsonObject { ["task_id"] = new JsonArray("a", "b"), ["terminate"] = true, ["signal"] = "SIGTERM" }, body["arguments"]));
    }
}
