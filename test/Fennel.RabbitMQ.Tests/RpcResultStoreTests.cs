using System.Text.Json.Nodes;
using Fennel.Results;

namespace Fennel.RabbitMQ.Tests;

/// <summary>Celery's rpc:// backend: a worker sends each state to the caller's reply queue; the caller keeps what arrives.</summary>
public sealed class RpcResultStoreTests
{
    [Fact]
    public async Task The_caller_receives_the_states_sent_to_its_reply_queue()
    {
        await using var caller = new RpcResultStore(TestBroker.Options());
        await using var worker = new RpcResultStore(TestBroker.Options());
        await caller.EnsureReplyQueueAsync();
        var id = Guid.NewGuid().ToString();
        Assert.Null(await caller.GetAsync(id));

        var waiting = caller.WaitAsync(id, TimeSpan.FromSeconds(15));
        await worker.StoreAsync(new TaskResult { TaskId = id, State = TaskState.Retry, ReplyTo = caller.ReplyTo }, TimeSpan.FromDays(1));
        await worker.StoreAsync(new TaskResult { TaskId = id, State = TaskState.Success, Result = JsonValue.Create(5), DateDone = DateTimeOffset.UtcNow, ReplyTo = caller.ReplyTo },
            TimeSpan.FromDays(1));

        var result = await waiting;
        Assert.Equal(TaskState.Success, result.State);
        Assert.Equal(5, (int)result.Result!);
        Assert.Equal(TaskState.Success, (await caller.GetAsync(id))!.State);
    }

    [Fact]
    public async Task The_reply_queue_is_declared_as_Celery_declares_it_and_results_are_transient()
    {
        await using var caller = new RpcResultStore(TestBroker.Options());
        await caller.EnsureReplyQueueAsync();

        var queues = Testing.Servers.RabbitMQTestServer.Rabbitmqctl("list_queues", "-q", "-p", TestBroker.VirtualHost, "name", "durable", "auto_delete", "arguments");
        Assert.Matches($@"{caller.ReplyTo}\tfalse\ttrue\t\[\{{""x-expires"",86400000\}}\]", queues);
    }

    [Fact]
    public async Task A_result_without_reply_to_is_not_sent_and_waiting_times_out_clearly()
    {
        await using var store = new RpcResultStore(TestBroker.Options());
        var id = Guid.NewGuid().ToString();
        await store.StoreAsync(new TaskResult { TaskId = id, State = TaskState.Success }, TimeSpan.FromDays(1));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => store.WaitAsync(id, TimeSpan.FromMilliseconds(300)));
        Assert.Contains(store.ReplyTo, error.Message, StringComparison.Ordinal);
    }
}
