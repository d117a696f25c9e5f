using Fennel.Bench.Brokers;

namespace Fennel.Bench.Measuring;

/// <summary>
/// A Celery column (one pool): the client is bench_client.py, the worker a real Celery 5 worker process, both on the
/// run's broker, measured the same way as Fennel (<see cref="FennelBench"/>).
/// </summary>
internal sealed class CeleryBench(BenchSettings settings, IBenchBroker broker, PythonCelery celery, RunLog log)
{
    private const string Queue = "celery";

    /// <summary>
    /// The workers a column drains with: on Redis the configured concurrencies at Celery's default prefetch; on RabbitMQ
    /// the same with <c>--prefetch-multiplier</c> (Celery's best case there), and for prefork also a worker at all its
    /// defaults. Solo runs one task at a time whatever <c>-c</c> says.
    /// </summary>
    public IReadOnlyList<CeleryWorker> Workers(string pool)
    {
        var concurrencies = pool switch
        {
            "prefork" => settings.CeleryPrefork,
            "threads" => settings.CeleryThreads,
            _ => [1],
        };
        int? multiplier = broker.Kind == "amqp" ? settings.CeleryAmqpPrefetchMultiplier : null;
        var workers = concurrencies.Select(c => new CeleryWorker(pool, c, multiplier)).ToList();
        if (broker.Kind == "amqp" && pool == "prefork") workers.Add(new CeleryWorker("prefork", Environment.ProcessorCount, Defaults: true));
        return workers;
    }

    /// <param name="pool"><c>threads</c>, <c>prefork</c> or <c>solo</c>.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    public async Task<SystemResult> RunAsync(string pool, CancellationToken cancellationToken)
    {
        var name = $"Celery {pool}";
        var workers = Workers(pool);
        await broker.ResetAsync();
        log.Step($"{name}: idle worker ({workers[0].Configuration}), {settings.Settle.TotalSeconds:0} s after it is ready");
        var idle = await IdleMemory.MeasureAsync(celery.StartWorker(workers[0], "info", probe: null, expected: 0),
            PythonCelery.IsReadyLine, settings.Settle, cancellationToken);
        log.Detail(idle.ToString());

        log.Step($"{name}: enqueue {settings.EnqueueCount} no-op tasks with apply_async, one at a time");
        var single = await celery.EnqueueAsync(settings.EnqueueCount, "loop", settings.Warmup, cancellationToken);
        log.Result(single);
        await broker.ResetAsync();
        log.Step($"{name}: enqueue {settings.EnqueueCount} no-op tasks with group(...).apply_async()");
        var bulk = await celery.EnqueueAsync(settings.EnqueueCount, "group", settings.Warmup, cancellationToken);
        log.Result(bulk);
        await broker.ResetAsync();

        var drains = new List<DrainResult>();
        LatencyResult? roundTrips = null;
        foreach (var worker in workers)
        {
            // Filled with single apply_async calls: group adds a group id to every message, and the drain should run
            // the same messages as Fennel's.
            var fill = await celery.EnqueueAsync(settings.Tasks, "loop", settings.Warmup, cancellationToken);
            var queued = await broker.QueueLengthAsync(Queue);
            if (queued != settings.Tasks) throw new InvalidOperationException($"The queue '{Queue}' holds {queued} messages after the fill, not {settings.Tasks}.");
            log.Step($"{name}: drain {settings.Tasks} with {worker.Configuration} (queue filled at {fill.Rate:N0} tasks/s)");
            var (drain, process) = await DrainMeasurement.RunAsync(worker.Configuration, fill,
                probe => celery.StartWorker(worker, "warning", probe, settings.Tasks), () => broker.QueueLengthAsync(Queue), broker,
                settings.DrainTimeout, cancellationToken);
            await using (process)
            {
                log.Result(drain);
                drains.Add(drain);
                if (roundTrips is null)
                {
                    log.Step($"{name}: {settings.RoundTrips} round trips bench.add delay → get against {worker.Configuration}");
                    roundTrips = await celery.RoundTripsAsync(settings.RoundTrips, settings.Warmup, cancellationToken);
                    log.Result(roundTrips);
                }
                await process.StopAsync(TimeSpan.FromSeconds(60));
            }
            await broker.ResetAsync();
        }
        return new SystemResult(name, idle, workers[0].Configuration, single, bulk, drains, roundTrips!);
    }
}
