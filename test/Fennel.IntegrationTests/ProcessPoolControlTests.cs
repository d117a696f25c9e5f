using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Transport;
using Fennel.Worker;
using Fennel.Worker.Pools;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.IntegrationTests;

/// <summary>
/// The process pool driven from the test process (its children are the test app, which has the real tasks; the test's own
/// app only registers their names and signatures): terminate, cold shutdown, resize and restart.
/// </summary>
public sealed class ProcessPoolControlTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly (string, IReadOnlyList<string>) Children = ("dotnet", [TestAppLocation.Path, "worker"]);
    private readonly IntegrationSandbox _sandbox = new();

    public Task InitializeAsync()
    {
        // Same names and signatures as in Fennel.TestApp; these bodies never run (the children run the test app's).
        _sandbox.App.Task<int, NoResult>("test.spin", NoResult (int n) => throw new InvalidOperationException("runs in a child"));
        _sandbox.App.Task<int, int>("test.pid", int (int n) => throw new InvalidOperationException("runs in a child"));
        _sandbox.App.Task<long, JsonObject>("test.sleep_until", JsonObject (long until) => throw new InvalidOperationException("runs in a child"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _sandbox.DisposeAsync();

    [Fact]
    public async Task Terminate_kills_the_child_the_task_ends_revoked_and_the_next_task_runs_in_a_new_child()
    {
        var worker = await StartWorkerAsync(concurrency: 1);
        var spin = await _sandbox.App.Client.SendTaskAsync("test.spin", [1]);
        await Eventually.HoldsAsync(() => worker.Running == 1, () => "the spinning task to start", Wait);
        var child = Assert.Single(OurChildren());

        Assert.True(worker.TryTerminate(spin.Id));
        var result = await spin.WaitAsync(Wait);
        Assert.True(result.State == TaskState.Revoked && result.Exception?.Message == "terminated",
            $"test.spin ended {result.State.ToWire()} with {result.Exception}.");
        await Eventually.HoldsAsync(() => !ProcessTree.IsAlive(child), () => $"the terminated task's child {child} to be gone", Wait);

        var next = await _sandbox.App.Client.SendTaskAsync("test.pid", [2]);
        var pid = (await next.GetJsonAsync(Wait))!.GetValue<int>();
        Assert.NotEqual(child, pid);
        await worker.StopAsync();
        Assert.False(worker.StoppedCold);
    }

    [Fact]
    public async Task Cold_shutdown_kills_the_children_and_gives_their_messages_back_unacknowledged()
    {
        var worker = await StartWorkerAsync(concurrency: 2);
        var spins = new[] { await _sandbox.App.Client.SendTaskAsync("test.spin", [1]), await _sandbox.App.Client.SendTaskAsync("test.spin", [2]) };
        await Eventually.HoldsAsync(() => worker.Running == 2, () => "both spinning tasks to start", Wait);
        var children = OurChildren();
        Assert.Equal(2, children.Count);

        await worker.StopColdAsync().WaitAsync(Wait);
        Assert.True(worker.StoppedCold);
        Assert.False(children.Any(ProcessTree.IsAlive), "A child outlived the cold shutdown.");
        Assert.Equal(2, await _sandbox.App.Transport.GetQueueLengthAsync("celery"));
        foreach (var spin in spins) Assert.Equal(TaskState.Pending, await spin.GetStateAsync());
    }

    [Fact]
    public async Task Resize_and_restart_replace_children_without_interrupting_a_running_task()
    {
        using var pool = new ProcessPool(2, "celery@pool-test", null, null, NullLogger.Instance, TimeProvider.System, Children);
        await pool.StartAsync(CancellationToken.None).WaitAsync(Wait);
        var first = pool.ChildPids;
        Assert.Equal(2, first.Count);

        var runner = new TaskRunner(_sandbox.App.Services, pool, "celery@pool-test", TimeProvider.System);
        var until = DateTimeOffset.UtcNow.AddSeconds(4).ToUnixTimeMilliseconds();
        var run = runner.RunAsync(Job("test.sleep_until", [until]), CancellationToken.None);
        await Eventually.HoldsAsync(() => pool.BusyChildren == 1, () => "a child to take the task", Wait);

        pool.Resize(1); // the idle child leaves now, the busy one stays
        await Eventually.HoldsAsync(() => pool.ChildPids.Count == 1, () => $"one child left; there are {pool.ChildPids.Count}", Wait);
        var busy = Assert.Single(pool.ChildPids);

        await pool.RestartAsync(CancellationToken.None).WaitAsync(Wait); // a new child; the busy one finishes first
        Assert.True(ProcessTree.IsAlive(busy), "The restart killed the child running a task.");
        var outcome = await run.WaitAsync(Wait);
        Assert.True(outcome is TaskOutcome.Succeeded, $"The task running across the resize and restart ended {outcome}.");
        await Eventually.HoldsAsync(() => !ProcessTree.IsAlive(busy), () => $"the old child {busy} to leave after its task", Wait);
        var fresh = Assert.Single(pool.ChildPids);
        Assert.DoesNotContain(fresh, first);

        pool.Resize(3);
        await Eventually.HoldsAsync(() => pool.ChildPids.Count == 3, () => $"three children; there are {pool.ChildPids.Count}", Wait);
        Assert.Equal(3, pool.LiveChildren);
    }

    [Fact]
    public async Task A_worker_whose_children_cannot_start_fails_to_start_and_says_why()
    {
        var worker = _sandbox.App.CreateWorker(o => o.Pool = WorkerPoolKind.Process);
        worker.ProcessPoolCommand = ("/bin/sh", ["-c", "echo not a fennel app; exit 3"]);
        var error = await Assert.ThrowsAsync<FennelConfigurationException>(() => worker.StartAsync());
        Assert.Contains("exit code 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("app.RunAsync(args)", error.Message, StringComparison.Ordinal);
        Assert.Equal(WorkerState.Stopped, worker.State);
        Assert.Empty(OurChildren());
    }

    private async Task<Worker.Worker> StartWorkerAsync(int concurrency)
    {
        var worker = _sandbox.App.CreateWorker(o =>
        {
            o.Pool = WorkerPoolKind.Process;
            o.Concurrency = concurrency;
            o.Queues = ["celery"];
            o.ShutdownTimeout = TimeSpan.FromSeconds(10);
        });
        worker.ProcessPoolCommand = Children;
        await worker.StartAsync();
        return worker;
    }

    private static List<int> OurChildren() =>
        [.. ProcessTree.ChildrenOf(Environment.ProcessId).Where(p => ProcessTree.CommandLine(p).Contains("Fennel.TestApp.dll", StringComparison.Ordinal))];

    private TaskJob Job(string name, JsonArray args)
    {
        var message = new TaskMessage { Id = Guid.NewGuid().ToString(), Task = name, Args = args };
        Assert.True(_sandbox.App.Tasks.TryGet(name, out var task));
        var body = TaskEnvelope.Encode(message, "celery", DateTimeOffset.UtcNow);
        return new TaskJob(new Delivery("celery", body, "tag-" + message.Id, 1), message, task, task.Invoker.BindArguments(message.Args, message.Kwargs));
    }
}
