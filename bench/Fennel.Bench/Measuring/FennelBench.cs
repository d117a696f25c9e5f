using System.Diagnostics;
using System.Globalization;
using Fennel.Bench.Processes;
using Fennel.Bench.Brokers;
using Fennel.Calling;
using Fennel.Tasks;

namespace Fennel.Bench.Measuring;

/// <summary>
/// The Fennel column. This process is the client (as an application sending tasks would be); the worker is this program
/// started again as a separate process with the <c>worker</c> command, as it would be deployed.
/// </summary>
internal sealed class FennelBench(BenchSettings settings, IBenchBroker broker, RunLog log)
{
    private const string Queue = "celery";
    private const string WarmupQueue = "bench.warmup";
    private static readonly TimeSpan ResultTimeout = TimeSpan.FromSeconds(10);

    /// <summary><c>--fennel-broker</c> replaces the run's Redis only (to try the harness on SQLite).</summary>
    private bool OnRunBroker => settings.FennelBroker is null || broker.Kind != "redis";

    private string Broker => OnRunBroker ? broker.FennelBroker : settings.FennelBroker!;

    private string Results => OnRunBroker ? broker.FennelResults : settings.FennelBroker!;

    public async Task<SystemResult> RunAsync(CancellationToken cancellationToken)
    {
        if (OnRunBroker) await broker.ResetAsync();
        var (app, tasks) = BenchApp.Build(["-b", Broker, "--result-backend", Results, "-l", "warning"]);
        await using (app)
        {
            var primary = settings.FennelConcurrency[0];
            log.Step($"Fennel on {Broker}: idle worker (async -c {primary}), {settings.Settle.TotalSeconds:0} s after it is ready");
            var idle = await IdleMemory.MeasureAsync(StartWorker(primary, "info", probe: null), IsReadyLine, settings.Settle, cancellationToken);
            log.Detail(idle.ToString());

            log.Step($"Fennel: enqueue {settings.EnqueueCount} no-op tasks with DelayAsync, each awaited");
            var single = await EnqueueOneByOneAsync(app, tasks, cancellationToken);
            log.Result(single);
            await app.Client.PurgeAsync(Queue, cancellationToken);
            log.Step($"Fennel: enqueue {settings.EnqueueCount} no-op tasks with SendBatchAsync, {settings.BatchSize} per call");
            var bulk = await EnqueueInBatchesAsync(app, settings.EnqueueCount, cancellationToken);
            log.Result(bulk);
            await app.Client.PurgeAsync(Queue, cancellationToken);

            var drains = new List<DrainResult>();
            LatencyResult? roundTrips = null;
            foreach (var concurrency in settings.FennelConcurrency)
            {
                var fill = await EnqueueInBatchesAsync(app, settings.Tasks, cancellationToken);
                await ExpectQueuedAsync(app, settings.Tasks);
                log.Step($"Fennel: drain {settings.Tasks} with a worker process, async -c {concurrency} (queue filled at {fill.Rate:N0} tasks/s)");
                var (drain, worker) = await DrainMeasurement.RunAsync($"async -c {concurrency}", fill,
                    probe => StartWorker(concurrency, "warning", probe), () => QueueLengthAsync(app), OnRunBroker ? broker : null, settings.DrainTimeout, cancellationToken);
                await using (worker)
                {
                    log.Result(drain);
                    drains.Add(drain);
                    if (roundTrips is null)
                    {
                        log.Step($"Fennel: {settings.RoundTrips} round trips bench.add DelayAsync → GetAsync against async -c {concurrency}");
                        roundTrips = await RoundTripsAsync(tasks, cancellationToken);
                        log.Result(roundTrips);
                    }
                    await worker.StopAsync(TimeSpan.FromSeconds(30));
                }
            }
            return new SystemResult("Fennel", idle, $"async -c {primary}", single, bulk, drains, roundTrips!);
        }
    }

    /// <summary>The line a Fennel worker logs at INFO once it consumes: <c>bench-fennel@host ready: queues [celery], ...</c>.</summary>
    private static bool IsReadyLine(string line) => line.Contains(" ready: queues [", StringComparison.Ordinal);

    private ChildProcess StartWorker(int concurrency, string logLevel, string? probe)
    {
        var (fileName, arguments) = BenchProgram.Command("worker", "-b", Broker, "--result-backend", Results, "-Q", Queue,
            "-c", concurrency.ToString(CultureInfo.InvariantCulture), "-n", "bench-fennel@%h", "-l", logLevel);
        var environment = new Dictionary<string, string>();
        if (probe is not null)
        {
            environment[DrainProbe.PathVariable] = probe;
            environment[DrainProbe.ExpectedVariable] = settings.Tasks.ToString(CultureInfo.InvariantCulture);
        }
        return ChildProcess.Start($"Fennel worker async -c {concurrency}", fileName, arguments, environment, Path.GetTempPath());
    }

    private async Task<EnqueueResult> EnqueueOneByOneAsync(FennelApp app, BenchTasks tasks, CancellationToken cancellationToken)
    {
        var warmup = new CallOptions { Queue = WarmupQueue };
        await WarmUpAsync(async () =>
        {
            for (var i = 0; i < 100; i++) await tasks.NoOp.DelayAsync(warmup, cancellationToken);
            await app.Client.PurgeAsync(WarmupQueue, cancellationToken);
        });

        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < settings.EnqueueCount; i++) await tasks.NoOp.DelayAsync(cancellationToken: cancellationToken);
        return new EnqueueResult("DelayAsync, each awaited", settings.EnqueueCount, Stopwatch.GetElapsedTime(started));
    }

    private async Task<EnqueueResult> EnqueueInBatchesAsync(FennelApp app, int count, CancellationToken cancellationToken)
    {
        var warmup = new CallOptions { Queue = WarmupQueue };
        await WarmUpAsync(async () =>
        {
            await app.Client.SendBatchAsync([.. Enumerable.Range(0, settings.BatchSize).Select(_ => new TaskCall(BenchTasks.NoOpName, Options: warmup))],
                cancellationToken);
            await app.Client.PurgeAsync(WarmupQueue, cancellationToken);
        });

        var started = Stopwatch.GetTimestamp();
        for (var sent = 0; sent < count; sent += settings.BatchSize)
        {
            var calls = new TaskCall[Math.Min(settings.BatchSize, count - sent)];
            for (var i = 0; i < calls.Length; i++) calls[i] = new TaskCall(BenchTasks.NoOpName);
            await app.Client.SendBatchAsync(calls, cancellationToken);
        }
        return new EnqueueResult($"SendBatchAsync, {settings.BatchSize} per call", count, Stopwatch.GetElapsedTime(started));
    }

    private async Task<LatencyResult> RoundTripsAsync(BenchTasks tasks, CancellationToken cancellationToken)
    {
        await WarmUpAsync(async () =>
        {
            var warm = await tasks.Add.DelayAsync(2, 2, cancellationToken: cancellationToken);
            await warm.GetAsync(ResultTimeout, cancellationToken);
        });

        var samples = new double[settings.RoundTrips];
        for (var i = 0; i < samples.Length; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var handle = await tasks.Add.DelayAsync(i, 1, cancellationToken: cancellationToken);
            var value = await handle.GetAsync(ResultTimeout, cancellationToken);
            samples[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            if (value != i + 1) throw new InvalidOperationException($"bench.add({i}, 1) returned {value}.");
        }
        return new LatencyResult(samples);
    }

    /// <summary>
    /// Repeats <paramref name="round"/> of the measured calls for the warm-up time, so connections are open and the tiered
    /// JIT has compiled the hot paths before the clock starts, as in a long-running producer. Enqueue rounds send to a
    /// queue no worker consumes, and purge it.
    /// </summary>
    private async Task WarmUpAsync(Func<Task> round)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < settings.Warmup) await round();
    }

    /// <summary>On the run's broker, counted as for Celery (Redis LLEN, AMQP queue.declare passive); elsewhere the transport's own count.</summary>
    private async Task<long> QueueLengthAsync(FennelApp app) =>
        OnRunBroker ? await broker.QueueLengthAsync(Queue) : await app.Transport.GetQueueLengthAsync(Queue);

    private async Task ExpectQueuedAsync(FennelApp app, int expected)
    {
        var queued = await QueueLengthAsync(app);
        if (queued != expected) throw new InvalidOperationException($"The queue '{Queue}' holds {queued} messages after the fill, not {expected}.");
    }
}
