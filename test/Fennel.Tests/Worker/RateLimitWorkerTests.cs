using System.Collections.Concurrent;
using Fennel.Calling;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;
using Fennel.Transport.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Fennel.Tests.Worker;

public class RateLimitWorkerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// An app whose worker waits for rate-limit turns on <paramref name="clock"/>, which moves only when the test says. Its
    /// leases (30 s) run on that clock too: the tests move it less than that at a time, so no held message comes back.
    /// </summary>
    private static FennelApp OnClock(FakeTimeProvider clock, Action<Fennel.Configuration.FennelOptions>? options = null) =>
        TestApps.Create(b => b.Services.AddSingleton<TimeProvider>(clock), options);

    [Fact]
    public async Task Rate_limited_tasks_start_one_interval_apart()
    {
        await using var app = TestApps.Create();
        var starts = new ConcurrentQueue<DateTimeOffset>();
        var limited = app.Task<int, int>("tasks.limited", (int n) =>
        {
            starts.Enqueue(DateTimeOffset.UtcNow);
            return n;
        }, new TaskOptions { RateLimit = "10/s" });
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var results = new List<AsyncResult<int>>();
        for (var i = 0; i < 6; i++) results.Add(await limited.DelayAsync(i));
        foreach (var r in results) await r.GetAsync(Wait);
        var sorted = starts.Order().ToList();
        // Six starts at 10/s: the last is at least five intervals after the first (a little slack for clock reads).
        Assert.True(sorted[^1] - sorted[0] >= TimeSpan.FromMilliseconds(480), $"6 starts at 10/s took only {(sorted[^1] - sorted[0]).TotalMilliseconds} ms.");
    }

    [Fact]
    public async Task An_unrelated_task_is_not_stuck_behind_rate_limited_ones_holding_the_prefetch()
    {
        // Concurrency 1: the worker holds 4 messages. Celery's worker would hold 4 waiting rate-limited messages and fetch
        // the unrelated task only once all but three of the 20 before it had run (about 8 s at 2/s).
        await using var app = TestApps.Create(options: o => o.Worker.Concurrency = 1);
        var limitedStarted = 0;
        var limited = app.Task<int, int>("tasks.limited", (int n) =>
        {
            Interlocked.Increment(ref limitedStarted);
            return n;
        }, new TaskOptions { RateLimit = "2/s" });
        var other = app.Task<int, int>("tasks.other", (int n) => n);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        for (var i = 0; i < 20; i++) await limited.DelayAsync(i);
        var unrelated = await other.DelayAsync(7);
        Assert.Equal(7, await unrelated.GetAsync(Wait));
        var startedMeanwhile = Volatile.Read(ref limitedStarted);
        Assert.True(startedMeanwhile <= 10, $"The unrelated task ended only after {startedMeanwhile} of the 20 rate-limited ones started.");
    }

    [Fact]
    public async Task Removing_the_rate_limit_at_run_time_lets_waiting_tasks_go()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = OnClock(clock);
        var limited = app.Task<int, int>("tasks.limited", (int n) => n, new TaskOptions { RateLimit = "1/m" });
        var other = app.Task<int, int>("tasks.other", (int n) => n);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var results = new List<AsyncResult<int>>();
        for (var i = 0; i < 5; i++) results.Add(await limited.DelayAsync(i));
        await results[0].GetAsync(Wait);
        // The other four wait for a turn a minute away: 20 s later a task sent after them has run, and they have not.
        clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(7, await (await other.DelayAsync(7)).GetAsync(Wait));
        Assert.Equal(2, worker.Processed);

        worker.SetRateLimit("tasks.limited", null);
        Assert.Null(worker.GetRateLimit("tasks.limited"));
        clock.Advance(TimeSpan.FromSeconds(1)); // the waiting line looks at its rate again at least every second
        foreach (var r in results) await r.GetAsync(Wait);
        Assert.Equal(6, worker.Processed);
    }

    [Fact]
    public async Task Setting_a_rate_limit_at_run_time_limits_a_task_that_had_none()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = OnClock(clock);
        var task = app.Task<int, int>("tasks.free", (int n) => n);
        var other = app.Task<int, int>("tasks.other", (int n) => n);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        worker.SetRateLimit("tasks.free", "1/m");
        Assert.Equal("1/m", worker.GetRateLimit("tasks.free")!.Text);
        var first = await task.DelayAsync(1);
        var second = await task.DelayAsync(2);
        await first.GetAsync(Wait);
        clock.Advance(TimeSpan.FromSeconds(20)); // the second's turn is a minute after the first's (and leases, 30 s, are renewed on this clock too)
        Assert.Equal(3, await (await other.DelayAsync(3)).GetAsync(Wait));
        Assert.Equal(2, worker.Processed);
        worker.SetRateLimit("tasks.free", "0");
        clock.Advance(TimeSpan.FromSeconds(1)); // the waiting line looks at its rate again at least every second; its turn is still 39 s away
        Assert.Equal(2, await second.GetAsync(Wait));
    }

    [Fact]
    public async Task Set_rate_limit_refuses_unknown_tasks_and_bad_rates()
    {
        await using var app = TestApps.Create();
        app.Task<int, int>("tasks.known", (int n) => n);
        await using var worker = app.CreateWorker();
        var unknown = Assert.Throws<ArgumentException>(() => worker.SetRateLimit("tasks.nope", "1/s"));
        Assert.Contains("tasks.nope", unknown.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<ArgumentException>(() => worker.SetRateLimit("tasks.known", "1/week"));
        Assert.Contains("'1/week'", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Warm_shutdown_gives_rate_limited_waiting_messages_back_unstarted_at_once()
    {
        await using var app = TestApps.Create();
        var started = 0;
        var limited = app.Task<int, int>("tasks.limited", (int n) =>
        {
            Interlocked.Increment(ref started);
            return n;
        }, new TaskOptions { RateLimit = "1/m" });
        var worker = app.CreateWorker();
        await worker.StartAsync();
        for (var i = 0; i < 6; i++) await limited.DelayAsync(i);
        await Eventually.HoldsAsync(() => worker.Processed == 1, "the first task");
        var stopping = worker.StopAsync();
        Assert.True(await Task.WhenAny(stopping, Task.Delay(Wait)) == stopping, "The warm shutdown waited for rate-limit turns.");
        Assert.False(worker.StoppedCold);
        Assert.Equal(1, Volatile.Read(ref started));
        Assert.Equal(5, await app.Transport.GetQueueLengthAsync("celery"));
    }

    [Fact]
    public async Task Cluster_wide_rate_limit_on_a_broker_that_cannot_share_one_fails_at_start()
    {
        await using var app = TestApps.Create();
        app.Task<int, int>("tasks.limited", (int n) => n, new TaskOptions { RateLimit = "5/s", RateLimitScope = RateLimitScope.Cluster });
        await using var worker = app.CreateWorker();
        var ex = await Assert.ThrowsAsync<FennelConfigurationException>(() => worker.StartAsync());
        Assert.Contains("tasks.limited", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ClusterRateLimitFallback", ex.Message, StringComparison.Ordinal);
        Assert.Equal(Fennel.Worker.WorkerState.Stopped, worker.State);
    }

    [Fact]
    public async Task Cluster_wide_rate_limit_falls_back_to_per_worker_only_when_asked()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = OnClock(clock, o =>
        {
            o.RateLimitScope = RateLimitScope.Cluster;
            o.ClusterRateLimitFallback = true;
        });
        var limited = app.Task<int, int>("tasks.limited", (int n) => n, new TaskOptions { RateLimit = "1/m" });
        var other = app.Task<int, int>("tasks.other", (int n) => n);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var first = await limited.DelayAsync(1);
        var second = await limited.DelayAsync(2);
        Assert.Equal(1, await first.GetAsync(Wait));
        clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(3, await (await other.DelayAsync(3)).GetAsync(Wait));
        Assert.Equal(2, worker.Processed); // the second is still limited, by the worker's own bucket
        worker.SetRateLimit("tasks.limited", null);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, await second.GetAsync(Wait));
    }
}

public class SharedRateLimiterFailureTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// An app whose worker waits for rate-limit turns on <paramref name="clock"/>, which moves only when the test says. Its
    /// leases (30 s) run on that clock too: the tests move it less than that at a time, so no held message comes back.
    /// </summary>
    private static FennelApp OnClock(FakeTimeProvider clock, Action<Fennel.Configuration.FennelOptions>? options = null) =>
        TestApps.Create(b => b.Services.AddSingleton<TimeProvider>(clock), options);

    /// <summary>The in-memory broker plus a shared limiter that fails while <see cref="Failing"/> is set.</summary>
    private sealed class FlakyLimiterTransport(InMemoryTransport inner) : ITransport, ISharedRateLimiter
    {
        private readonly Fennel.Worker.TokenBucket _bucket = new(TimeProvider.System);

        public volatile bool Failing = true;
        public int Calls;

        public TransportCapabilities Capabilities => inner.Capabilities;

        public Task<TimeSpan> TryTakeTurnAsync(string key, TimeSpan interval, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            if (Failing) throw new BrokerException("flaky: the broker is away");
            return Task.FromResult(_bucket.TryTake(interval));
        }

        public Task DeclareQueueAsync(string queue, CancellationToken cancellationToken = default) => inner.DeclareQueueAsync(queue, cancellationToken);

        public Task PublishAsync(OutgoingMessage message, CancellationToken cancellationToken = default) => inner.PublishAsync(message, cancellationToken);

        public Task PublishBatchAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default) =>
            inner.PublishBatchAsync(messages, cancellationToken);

        public Task<IReadOnlyList<Delivery>> FetchAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease, TimeSpan wait,
            CancellationToken cancellationToken = default) => inner.FetchAsync(queues, maxMessages, lease, wait, cancellationToken);

        public Task AckAsync(Delivery delivery, CancellationToken cancellationToken = default) => inner.AckAsync(delivery, cancellationToken);

        public Task ReleaseAsync(Delivery delivery, DateTimeOffset? notBefore = null, CancellationToken cancellationToken = default) =>
            inner.ReleaseAsync(delivery, notBefore, cancellationToken);

        public Task RenewAsync(IReadOnlyCollection<Delivery> deliveries, TimeSpan lease, CancellationToken cancellationToken = default) =>
            inner.RenewAsync(deliveries, lease, cancellationToken);

        public Task DeadLetterAsync(Delivery delivery, string reason, CancellationToken cancellationToken = default) =>
            inner.DeadLetterAsync(delivery, reason, cancellationToken);

        public Task<long> PurgeAsync(string queue, CancellationToken cancellationToken = default) => inner.PurgeAsync(queue, cancellationToken);

        public Task<long> GetQueueLengthAsync(string queue, CancellationToken cancellationToken = default) => inner.GetQueueLengthAsync(queue, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class FlakyProvider(FlakyLimiterTransport transport) : ITransportProvider
    {
        public IReadOnlyCollection<string> Schemes => ["flaky"];

        public ITransport CreateTransport(string url, IServiceProvider services) => transport;

        public IResultStore? CreateResultStore(string url, IServiceProvider services) => new InMemoryResultStore();
    }

    [Fact]
    public async Task While_the_shared_limiter_fails_rate_limited_tasks_wait_held_and_run_once_it_answers()
    {
        var transport = new FlakyLimiterTransport(new InMemoryTransport());
        await using var app = TestApps.Create(
            b => b.Services.AddSingleton<ITransportProvider>(new FlakyProvider(transport)),
            o => o.BrokerUrl = "flaky://here");
        var limited = app.Task<int, int>("tasks.limited", (int n) => n, new TaskOptions { RateLimit = "20/s", RateLimitScope = RateLimitScope.Cluster });
        var other = app.Task<int, int>("tasks.other", (int n) => n);
        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var results = new List<AsyncResult<int>>();
        for (var i = 0; i < 3; i++) results.Add(await limited.DelayAsync(i));

        // The limiter keeps failing: nothing rate-limited runs, nothing is dropped, other tasks go on.
        Assert.Equal(5, await (await other.DelayAsync(5)).GetAsync(Wait));
        await Eventually.HoldsAsync(() => Volatile.Read(ref transport.Calls) >= 2, "the limiter asked again");
        Assert.Equal(1, worker.Processed);
        Assert.Equal(0, await transport.GetQueueLengthAsync("celery")); // still held by the worker, not lost

        transport.Failing = false;
        foreach (var r in results) await r.GetAsync(Wait);
        Assert.Equal(4, worker.Processed);
    }
}
