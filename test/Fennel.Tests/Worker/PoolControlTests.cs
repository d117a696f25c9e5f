using Fennel.Calling;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Worker;

namespace Fennel.Tests.Worker;

/// <summary>Growing, shrinking and restarting the pool of a running worker, and time limits and terminate on the in-process pools.</summary>
public class PoolControlTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    /// <summary>Counts tasks running at once and holds them until released.</summary>
    private sealed class Gate
    {
        private readonly Lock _lock = new();
        private TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _running;

        public int MaxRunning { get; private set; }

        public int Running
        {
            get { lock (_lock) return _running; }
        }

        public async Task<string> PassAsync()
        {
            Task open;
            lock (_lock)
            {
                _running++;
                MaxRunning = Math.Max(MaxRunning, _running);
                open = _open.Task;
            }
            await open;
            lock (_lock) _running--;
            return Thread.CurrentThread.Name ?? "";
        }

        public void Open() => _open.TrySetResult();

        public void Reset()
        {
            lock (_lock)
            {
                _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
                MaxRunning = 0;
            }
        }
    }

    [Fact]
    public async Task Grow_runs_more_tasks_at_once_and_raises_the_prefetch()
    {
        var gate = new Gate();
        await using var app = TestApps.Create(options: o => o.Worker.Concurrency = 1);
        var hold = app.Task<string>("tasks.hold", () => gate.PassAsync());
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var results = new List<AsyncResult<string>>();
        for (var i = 0; i < 4; i++) results.Add(await hold.DelayAsync());
        await Eventually.HoldsAsync(() => gate.Running == 1, "one task running");

        Assert.Equal(4, await worker.GrowPoolAsync(3));
        Assert.Equal(4, worker.Concurrency);
        Assert.Equal(16, worker.Prefetch);
        await Eventually.HoldsAsync(() => gate.Running == 4, "four tasks running at once");
        gate.Open();
        foreach (var r in results) await r.GetAsync(Wait);
    }

    [Fact]
    public async Task Shrink_interrupts_no_running_task_and_then_runs_fewer_at_once()
    {
        var gate = new Gate();
        await using var app = TestApps.Create(options: o => o.Worker.Concurrency = 4);
        var hold = app.Task<string>("tasks.hold", () => gate.PassAsync());
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var first = new List<AsyncResult<string>>();
        for (var i = 0; i < 4; i++) first.Add(await hold.DelayAsync());
        await Eventually.HoldsAsync(() => gate.Running == 4, "four tasks running");

        Assert.Equal(1, await worker.ShrinkPoolAsync(3));
        Assert.Equal(1, await worker.ShrinkPoolAsync(5)); // never below one
        gate.Open();
        foreach (var r in first) await r.GetAsync(Wait); // all four finished: none was interrupted

        gate.Reset();
        var second = new List<AsyncResult<string>>();
        for (var i = 0; i < 4; i++) second.Add(await hold.DelayAsync());
        await Eventually.HoldsAsync(() => gate.Running == 1, "one task running");
        // The other three are in the worker, waiting for the one slot (reserved), not running.
        await Eventually.HoldsAsync(async () => Assert.Single(await app.Client.Control.RequestAsync("reserved", options: new() { Limit = 1 })).Payload!.AsArray().Count == 3,
            "the other three tasks reserved");
        Assert.Equal(1, gate.Running);
        gate.Open();
        foreach (var r in second) await r.GetAsync(Wait);
        Assert.Equal(1, gate.MaxRunning);
    }

    [Fact]
    public async Task Restarting_the_threads_pool_lets_running_tasks_finish_on_old_threads_and_starts_new_ones()
    {
        var gate = new Gate();
        await using var app = TestApps.Create(options: o =>
        {
            o.Worker.Concurrency = 2;
            o.Worker.Pool = WorkerPoolKind.Threads;
        });
        var hold = app.Task<string>("tasks.hold", () => gate.PassAsync().GetAwaiter().GetResult());
        var where = app.Task<string>("tasks.where", () => Thread.CurrentThread.Name ?? "");
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var running = await hold.DelayAsync();
        await Eventually.HoldsAsync(() => gate.Running == 1, "a task running");
        var before = await (await where.DelayAsync()).GetAsync(Wait);

        await worker.RestartPoolAsync();
        gate.Open();
        var oldThread = await running.GetAsync(Wait);
        var after = new HashSet<string>();
        for (var i = 0; i < 6; i++) after.Add(await (await where.DelayAsync()).GetAsync(Wait));
        Assert.DoesNotContain(oldThread, after);
        Assert.DoesNotContain(before, after);
    }

    [Theory]
    [InlineData(WorkerPoolKind.Async)]
    [InlineData(WorkerPoolKind.Threads)]
    public async Task Hard_time_limit_fails_a_spinning_task_and_the_pool_keeps_its_concurrency(WorkerPoolKind pool)
    {
        using var stopSpinning = new CancellationTokenSource();
        var gate = new Gate();
        await using var app = TestApps.Create(options: o =>
        {
            o.Worker.Concurrency = 2;
            o.Worker.Pool = pool;
        });
        var spin = app.Task("tasks.spin", () =>
        {
            // CPU-bound and deaf to its token, as the worst task would be; released when the test ends.
            while (!stopSpinning.IsCancellationRequested) Thread.SpinWait(1000);
            return 0;
        }, new TaskOptions { TimeLimit = TimeSpan.FromSeconds(1) });
        var hold = app.Task<string>("tasks.hold", () => pool == WorkerPoolKind.Threads ? gate.PassAsync().GetAwaiter().GetResult() : gate.PassAsync().GetAwaiter().GetResult());
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        try
        {
            var started = DateTime.UtcNow;
            var spinning = await spin.DelayAsync();
            var ex = await Assert.ThrowsAsync<TaskFailedException>(() => spinning.GetAsync<int>(Wait));
            var took = DateTime.UtcNow - started;
            Assert.Equal("TimeLimitExceeded", ex.RemoteType);
            Assert.InRange(took.TotalSeconds, 0.9, 10);

            // Both slots still run tasks at once although the spinning handler never returned.
            var held = new[] { await hold.DelayAsync(), await hold.DelayAsync() };
            await Eventually.HoldsAsync(() => gate.Running == 2, "two tasks running at once after the limit");
            gate.Open();
            foreach (var r in held) await r.GetAsync(Wait);
        }
        finally
        {
            await stopSpinning.CancelAsync();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Terminate_ends_a_running_task_revoked_whether_or_not_it_honours_its_token(bool honoursToken)
    {
        using var release = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = TestApps.Create();
        var sleep = app.Task("tasks.sleep", async (CancellationToken ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, honoursToken ? ct : release.Token);
            return 0;
        });
        var after = app.Task("tasks.after", () => 1);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        try
        {
            var running = await sleep.DelayAsync();
            await started.Task.WaitAsync(Wait);
            Assert.False(worker.TryTerminate("no-such-task"));
            Assert.True(worker.TryTerminate(running.Id));
            var stored = await running.WaitAsync(Wait);
            Assert.Equal(TaskState.Revoked, stored.State);
            var ex = await Assert.ThrowsAsync<TaskFailedException>(() => running.GetAsync<int>(Wait));
            Assert.Equal("TaskRevokedError", ex.RemoteType);
            Assert.Equal("terminated", ex.RemoteMessage);
            Assert.Equal(1, await (await after.DelayAsync()).GetAsync<int>(Wait));
        }
        finally
        {
            await release.CancelAsync();
        }
    }

    [Fact]
    public async Task Soft_time_limit_is_observable_and_the_task_may_tidy_up_and_return()
    {
        await using var app = TestApps.Create(options: o => o.Worker.SoftTimeLimit = TimeSpan.FromMilliseconds(300));
        var tidy = app.Task("tasks.tidy", async (TaskContext ctx, CancellationToken ct) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException) when (ctx.SoftTimeLimitExceeded)
            {
                return "tidied";
            }
            return "never";
        });
        var give = app.Task("tasks.give_up", async (CancellationToken ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        });
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        Assert.Equal("tidied", await (await tidy.DelayAsync()).GetAsync<string>(Wait));
        var ex = await Assert.ThrowsAsync<TaskFailedException>(async () => await (await give.DelayAsync()).GetAsync<int>(Wait));
        Assert.Equal("SoftTimeLimitExceeded", ex.RemoteType);
    }

    [Fact]
    public async Task A_call_limit_beats_the_task_limit_which_beats_the_worker_default()
    {
        await using var app = TestApps.Create(options: o => o.Worker.TimeLimit = TimeSpan.FromSeconds(30));
        var slow = app.Task("tasks.slow", async (CancellationToken ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(20), ct);
            return 0;
        }, new TaskOptions { TimeLimit = TimeSpan.FromSeconds(10) });
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var started = DateTime.UtcNow;
        var call = await slow.ApplyAsync(options: new CallOptions { TimeLimit = TimeSpan.FromMilliseconds(400) });
        var ex = await Assert.ThrowsAsync<TaskFailedException>(() => call.GetAsync<int>(Wait));
        Assert.Equal("TimeLimitExceeded", ex.RemoteType);
        Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 0.3, 9);
    }

    [Fact]
    public void Worker_time_limits_are_validated()
    {
        var options = new WorkerOptions { TimeLimit = TimeSpan.Zero };
        var ex = Assert.Throws<FennelConfigurationException>(options.Validate);
        Assert.Contains("time limit", ex.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(3), new WorkerOptions { SoftTimeLimit = TimeSpan.FromSeconds(3) }.Clone().SoftTimeLimit);
    }
}
