using System.Text;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;
using Fennel.Transport.Memory;
using Microsoft.Extensions.DependencyInjection;

namespace Fennel.Tests.Worker;

public class WorkerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    public interface IGreeter
    {
        string Greet(string name);
    }

    private sealed class Greeter : IGreeter
    {
        public string Greet(string name) => "hello " + name;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_stop_while_the_worker_is_still_starting_stops_it_instead_of_leaving_it_running(bool cold)
    {
        // Mingle keeps the start busy for its timeout (a second here): a SIGTERM then used to be lost, and the worker ran on.
        await using var app = TestApps.Create(options: o => o.Worker.Mingle = true);
        var ran = 0;
        app.Task<int, int>("tasks.count", (int x) => Interlocked.Increment(ref ran));
        await app.Client.SendTaskAsync("tasks.count", [1]);
        await using var worker = app.CreateWorker();
        var starting = worker.StartAsync();
        await Eventually.HoldsAsync(() => worker.State == Fennel.Worker.WorkerState.Starting, "the worker starting");

        var stopping = cold ? worker.StopColdAsync() : worker.StopAsync();
        await Task.WhenAll(starting, stopping).WaitAsync(Wait);

        Assert.Equal(Fennel.Worker.WorkerState.Stopped, worker.State);
        Assert.True(worker.Completion.IsCompleted);
        Assert.False(worker.StoppedCold, "Nothing ran, so nothing was interrupted.");
        Assert.Equal(0, ran);
        Assert.Equal(1, await app.Transport.GetQueueLengthAsync("celery"));
    }

    [Fact]
    public async Task Typed_task_runs_and_returns_its_value()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var result = await add.DelayAsync(2, 3);
        Assert.Equal(5, await result.GetAsync(Wait));
        var stored = await result.WaitAsync(Wait);
        Assert.Equal(worker.Name, stored.Worker);
        Assert.NotNull(stored.DateDone);
    }

    [Fact]
    public async Task Services_cancellation_and_context_are_injected()
    {
        await using var app = TestApps.Create(b => b.Services.AddSingleton<IGreeter, Greeter>());
        var greet = app.Task<string, string>("tasks.greet", (IGreeter greeter, string name, CancellationToken ct, TaskContext ctx) =>
            $"{greeter.Greet(name)} from {ctx.Name} (token can cancel: {ct.CanBeCanceled})");
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var value = await (await greet.DelayAsync("ada")).GetAsync(Wait);
        Assert.Equal("hello ada from tasks.greet (token can cancel: True)", value);
    }

    [Fact]
    public async Task Keyword_arguments_bind_by_snake_case_name_and_defaults_fill_the_rest()
    {
        await using var app = TestApps.Create();
        app.Task("tasks.fmt", Format);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var r = await app.Client.SendTaskAsync("tasks.fmt", null, new JsonObject { ["customer_id"] = 7 });
        Assert.Equal("Hi 7", await r.GetAsync<string>(Wait));
    }

    private static string Format(int customerId, string greeting = "Hi") => $"{greeting} {customerId}";

    [Fact]
    public async Task Failure_carries_remote_type_message_and_traceback()
    {
        await using var app = TestApps.Create();
        var boom = app.Task<string, NoResult>("tasks.boom", (string why) => { throw new InvalidOperationException(why); });
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var result = await boom.DelayAsync("disk full");
        var ex = await Assert.ThrowsAsync<TaskFailedException>(() => result.GetAsync(Wait));
        Assert.Equal("InvalidOperationException", ex.RemoteType);
        Assert.Equal("disk full", ex.RemoteMessage);
        Assert.Contains("InvalidOperationException", ex.RemoteTraceback, StringComparison.Ordinal);
        Assert.Equal(TaskState.Failure, ex.State);
    }

    [Fact]
    public async Task Get_times_out_with_a_clear_error_when_no_worker_runs()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        var result = await add.DelayAsync(1, 1);
        var ex = await Assert.ThrowsAsync<TimeoutException>(() => result.GetAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Contains(result.Id, ex.Message, StringComparison.Ordinal);
        Assert.Contains("PENDING", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_keeps_the_id_and_increments_retries_until_it_succeeds()
    {
        await using var app = TestApps.Create();
        var seen = new List<(string Id, int Retries, string? Parent)>();
        var flaky = app.Task<int, int>("tasks.flaky", (int n, TaskContext ctx) =>
        {
            lock (seen) seen.Add((ctx.Id, ctx.Retries, ctx.Message.ParentId));
            if (ctx.Retries < 2) throw ctx.Retry(new IOException("not yet"), countdown: TimeSpan.FromMilliseconds(10));
            return n * 2;
        });
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var result = await flaky.DelayAsync(21);
        Assert.Equal(42, await result.GetAsync(Wait));
        Assert.Equal([0, 1, 2], seen.Select(s => s.Retries));
        Assert.All(seen, s => Assert.Equal(result.Id, s.Id));
        Assert.Equal(result.Id, seen[1].Parent); // Celery sets parent_id to the task itself on retry
    }

    [Fact]
    public async Task Automatic_retry_stops_at_max_retries_and_fails_with_the_last_error()
    {
        await using var app = TestApps.Create();
        var attempts = 0;
        var always = app.Task<NoResult>("tasks.always_fails", () =>
        {
            Interlocked.Increment(ref attempts);
            throw new IOException("still down");
        }, new TaskOptions { AutoRetryFor = [typeof(IOException)], MaxRetries = 2, RetryBackoff = TimeSpan.FromMilliseconds(5) });
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var ex = await Assert.ThrowsAsync<TaskFailedException>(async () => await (await always.DelayAsync()).GetAsync(Wait));
        Assert.Equal("IOException", ex.RemoteType);
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task Backoff_grows_exponentially_with_jitter_and_a_cap()
    {
        var options = new TaskOptions { RetryBackoff = TimeSpan.FromSeconds(1), RetryBackoffMax = TimeSpan.FromSeconds(10) };
        var random = new Random(1);
        for (var retry = 0; retry < 8; retry++)
        {
            var full = Math.Min(Math.Pow(2, retry), 10);
            var delay = options.BackoffFor(retry, random).TotalSeconds;
            Assert.InRange(delay, full / 2, full);
        }
        Assert.Equal(TimeSpan.FromSeconds(4), (options with { RetryJitter = false }).BackoffFor(2, random));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Unknown_task_is_dead_lettered_with_a_reason_and_the_worker_keeps_serving()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var unknown = await app.Client.SendTaskAsync("tasks.nope", [1]);
        var failed = await unknown.WaitAsync(Wait);
        Assert.Equal("NotRegistered", failed.Exception!.Type);
        Assert.Equal(3, await (await add.DelayAsync(1, 2)).GetAsync(Wait));
        var letters = await ((IDeadLetterStore)app.Transport).ListDeadLettersAsync();
        Assert.Contains(letters, l => l.Reason.Contains("unknown task 'tasks.nope'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Wrong_argument_count_is_dead_lettered_and_fails_the_task()
    {
        await using var app = TestApps.Create();
        app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var result = await app.Client.SendTaskAsync("tasks.add", [1, 2, 3]);
        var stored = await result.WaitAsync(Wait);
        Assert.Equal("TypeError", stored.Exception!.Type);
        var letters = await ((IDeadLetterStore)app.Transport).ListDeadLettersAsync();
        Assert.Contains(letters, l => l.Reason.Contains("takes 2 argument(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Malformed_message_is_dead_lettered_and_the_worker_keeps_serving()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        await ((InMemoryTransport)app.Transport).PublishStoredAsync("celery", Encoding.UTF8.GetBytes("{not json"));
        Assert.Equal(3, await (await add.DelayAsync(1, 2)).GetAsync(Wait));
        await Eventually.HoldsAsync(async () => (await ((IDeadLetterStore)app.Transport).ListDeadLettersAsync()).Count == 1, "a dead letter");
        var letter = (await ((IDeadLetterStore)app.Transport).ListDeadLettersAsync()).Single();
        Assert.StartsWith("malformed message", letter.Reason, StringComparison.Ordinal);
        Assert.Equal("{not json", Encoding.UTF8.GetString(letter.Body.Span));
    }

    [Fact]
    public async Task Expired_task_ends_revoked_without_running()
    {
        await using var app = TestApps.Create();
        var ran = false;
        var task = app.Task<NoResult>("tasks.late", () => { ran = true; });
        var result = await task.DelayAsync(new CallOptions { Expires = DateTimeOffset.UtcNow.AddSeconds(-1) });
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var ex = await Assert.ThrowsAsync<TaskFailedException>(() => result.GetAsync(Wait));
        Assert.Equal(TaskState.Revoked, ex.State);
        Assert.Equal("expired", ex.RemoteMessage);
        Assert.False(ran);
    }

    [Fact]
    public async Task Countdown_task_waits_in_the_broker_not_in_the_worker()
    {
        await using var app = TestApps.Create();
        var task = app.Task<int, int>("tasks.echo", (int n) => n);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var result = await task.DelayAsync(9, new CallOptions { Countdown = TimeSpan.FromSeconds(3) });
        await Eventually.HoldsAsync(async () => await app.Transport.GetQueueLengthAsync("celery") == 1, "the parked message");
        Assert.Equal(0, worker.Running);
        Assert.Equal(9, await result.GetAsync(Wait));
    }

    [Fact]
    public async Task Call_queue_overrides_routers_and_routers_override_the_default_queue()
    {
        await using var app = TestApps.Create();
        app.Route("customers.*", "customers");
        var welcome = app.Task<int, int>("customers.welcome", (int n) => n);
        var add = app.Task<int, int>("core.add", (int n) => n);
        await welcome.DelayAsync(1);
        await welcome.DelayAsync(2, new CallOptions { Queue = "urgent" });
        await add.DelayAsync(3);
        Assert.Equal(1, await app.Transport.GetQueueLengthAsync("customers"));
        Assert.Equal(1, await app.Transport.GetQueueLengthAsync("urgent"));
        Assert.Equal(1, await app.Transport.GetQueueLengthAsync("celery"));
    }

    [Fact]
    public async Task Warm_shutdown_finishes_running_tasks_and_returns_unstarted_messages()
    {
        await using var app = TestApps.Create(options: o => o.Worker.Concurrency = 2);
        var gate = new TaskCompletionSource();
        var started = 0;
        var slow = app.Task<int, int>("tasks.slow", async (int n) =>
        {
            Interlocked.Increment(ref started);
            await gate.Task;
            return n;
        });
        var worker = app.CreateWorker();
        await worker.StartAsync();
        var results = new List<AsyncResult<int>>();
        for (var i = 0; i < 10; i++) results.Add(await slow.DelayAsync(i));
        await Eventually.HoldsAsync(() => Volatile.Read(ref started) == 2, "two running tasks");
        var stopping = worker.StopAsync();
        await Eventually.HoldsAsync(async () => await app.Transport.GetQueueLengthAsync("celery") == 8, "8 returned messages");
        Assert.False(stopping.IsCompleted);
        gate.SetResult();
        await stopping;
        Assert.False(worker.StoppedCold);
        Assert.Equal(2, worker.Processed);
        Assert.Equal(2, Volatile.Read(ref started));
    }

    [Fact]
    public async Task Cold_shutdown_acknowledges_nothing_that_did_not_finish()
    {
        await using var app = TestApps.Create(options: o => o.Worker.Concurrency = 2);
        var slow = app.Task<int, int>("tasks.hang", async (int n, CancellationToken ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return n;
        });
        var worker = app.CreateWorker();
        await worker.StartAsync();
        for (var i = 0; i < 5; i++) await slow.DelayAsync(i);
        await Eventually.HoldsAsync(() => worker.Running == 2, "two running tasks");
        await worker.StopColdAsync();
        Assert.True(worker.StoppedCold);
        Assert.Equal(5, await app.Transport.GetQueueLengthAsync("celery"));
    }

    [Fact]
    public async Task Threads_pool_runs_blocking_tasks_on_dedicated_threads()
    {
        await using var app = TestApps.Create();
        var names = new System.Collections.Concurrent.ConcurrentBag<string?>();
        var block = app.Task<int, int>("tasks.block", (int n) =>
        {
            names.Add(Thread.CurrentThread.Name);
            Thread.Sleep(20); // the blocking call this pool exists for
            return n;
        });
        await using var worker = app.CreateWorker(o => { o.Pool = Fennel.Worker.WorkerPoolKind.Threads; o.Concurrency = 3; });
        await worker.StartAsync();
        var results = new List<AsyncResult<int>>();
        for (var i = 0; i < 6; i++) results.Add(await block.DelayAsync(i));
        foreach (var r in results) await r.GetAsync(Wait);
        Assert.All(names, n => Assert.Contains("task thread", n, StringComparison.Ordinal));
    }

    [Fact]
    public void Typed_registration_that_does_not_match_the_handler_fails_clearly()
    {
        using var _ = new CancellationTokenSource();
        var app = TestApps.Create();
        var ex = Assert.Throws<FennelConfigurationException>(() => app.Task<string, int>("tasks.add", (int x) => x));
        Assert.Contains("declared with arguments (String)", ex.Message, StringComparison.Ordinal);
        Assert.Throws<FennelConfigurationException>(() => app.Task<int, string>("tasks.other", (int x) => x));
        app.Task<int, int>("tasks.dup", (int x) => x);
        Assert.Throws<FennelConfigurationException>(() => app.Task<int, int>("tasks.dup", (int x) => x));
    }

    [Fact]
    public async Task Eager_mode_runs_tasks_in_the_sender_with_retries_and_failures()
    {
        await using var app = TestApps.Create(options: o => { o.BrokerUrl = null; o.Eager = true; });
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        var flaky = app.Task<int, int>("tasks.flaky", (int n, TaskContext ctx) =>
            ctx.Retries < 2 ? throw ctx.Retry(new IOException("again"), countdown: TimeSpan.FromHours(1)) : n + ctx.Retries);
        var boom = app.Task<NoResult>("tasks.boom", () => { throw new InvalidOperationException("no"); });
        var sum = await add.DelayAsync(2, 3);
        Assert.Equal(TaskState.Success, await sum.GetStateAsync()); // done before DelayAsync returned
        Assert.Equal(5, await sum.GetAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(12, await (await flaky.DelayAsync(10)).GetAsync(TimeSpan.FromSeconds(1)));
        var ex = await Assert.ThrowsAsync<TaskFailedException>(async () => await (await boom.DelayAsync()).GetAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal("InvalidOperationException", ex.RemoteType);
        Assert.Equal("memory://", app.Options.EffectiveBrokerUrl);
    }

    [Fact]
    public async Task Message_whose_worker_keeps_getting_lost_is_dead_lettered_after_max_deliveries()
    {
        await using var app = TestApps.Create(options: o => o.Worker.MaxDeliveries = 2);
        var echo = app.Task<int, int>("tasks.echo", (int n) => n);
        var result = await echo.DelayAsync(1);
        for (var delivery = 1; delivery <= 2; delivery++)
        {
            // A consumer takes it and vanishes: the lease lapses and the next fetch gets it again.
            var taken = await app.Transport.FetchAsync(["celery"], 1, TimeSpan.FromMilliseconds(1), Wait);
            Assert.Equal(delivery, Assert.Single(taken).DeliveryCount);
        }
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var stored = await result.WaitAsync(Wait);
        Assert.Equal("WorkerLostError", stored.Exception!.Type);
        var letter = Assert.Single(await ((IDeadLetterStore)app.Transport).ListDeadLettersAsync());
        Assert.Contains("delivered 3 times", letter.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_whose_workers_were_lost_twice_runs_alone_and_others_are_not_counted_with_it()
    {
        await using var app = TestApps.Create(options: o => { o.Worker.Concurrency = 4; o.Worker.PrefetchMultiplier = 4; });
        var running = 0;
        var overlaps = 0;
        var gate = new object();
        var work = app.Task<int, int>("tasks.work", async (int n) =>
        {
            lock (gate) { if (++running > 1 && n < 0) overlaps++; }
            await Task.Delay(50);
            lock (gate) { if (running > 1 && n < 0) overlaps++; running--; }
            return n;
        });
        var suspect = await work.DelayAsync(-1);
        // Its consumers vanished twice: the leases lapse, and the next delivery is the third.
        Assert.Single(await app.Transport.FetchAsync(["celery"], 1, TimeSpan.FromMilliseconds(1), Wait));
        Assert.Single(await app.Transport.FetchAsync(["celery"], 1, TimeSpan.FromMilliseconds(1), Wait));
        var others = new List<AsyncResult<int>>();
        for (var i = 0; i < 20; i++) others.Add(await work.DelayAsync(i));

        await using var worker = app.CreateWorker();
        await worker.StartAsync();

        Assert.Equal(-1, await suspect.GetAsync(Wait));
        foreach (var other in others) await other.GetAsync(Wait);
        Assert.Equal(0, overlaps);
        Assert.Empty(await ((IDeadLetterStore)app.Transport).ListDeadLettersAsync());
    }
}
