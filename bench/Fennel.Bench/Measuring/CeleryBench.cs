using Fennel.Bench.Redis;

namespace Fennel.Bench.Measuring;

/// <summary>
/// A Celery column (one pool): the client is bench_client.py, the worker a real Celery 5 worker process, both on the
/// run's Redis, measured the same way as Fennel (<see cref="FennelBench"/>).
/// </summary>
internal sealed class CeleryBench(BenchSettings settings, RedisServer redis, PythonCelery celery, RunLog log)
{
    private const string Queue = "celery";

    /// <param name="pool"><c>threads</c> or <c>prefork</c>.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    public async Task<SystemResult> RunAsync(string pool, CancellationToken cancellationToken)
    {
        var name = $"Celery {pool}";
        var concurrencies = pool == "prefork" ? settings.CeleryPrefork : settings.CeleryThreads;
        await redis.FlushAsync();
        log.Step($"{name}: idle worker (-P {pool} -c {concurrencies[0]}), {settings.Settle.TotalSeconds:0} s after it is ready");
        var idle = await IdleMemory.MeasureAsync(celery.StartWorker(pool, concurrencies[0], "info", probe: null, expected: 0),
            PythonCelery.IsReadyLine, settings.Settle, cancellationToken);
        log.Detail(idle.ToString());

        log.Step($"{name}: enqueue {settings.Tasks} no-op tasks with apply_async, one at a time");
        var single = await celery.EnqueueAsync(settings.Tasks, "loop", settings.Warmup, cancellationToken);
        log.Result(single);
        await redis.FlushAsync();
        log.Step($"{name}: enqueue {settings.Tasks} no-op tasks with group(...).apply_async()");
        var bulk = await celery.EnqueueAsync(settings.Tasks, "group", settings.Warmup, cancellationToken);
        log.Result(bulk);
        await redis.FlushAsync();

        var drains = new List<DrainResult>();
        LatencyResult? roundTrips = null;
        foreach (var concurrency in concurrencies)
        {
            // Filled with single apply_async calls: group adds a group id to every message, and the drain should run
            // the same messages as Fennel's.
            var fill = await celery.EnqueueAsync(settings.Tasks, "loop", settings.Warmup, cancellationToken);
            var queued = await redis.ListLengthAsync(Queue);
            if (queued != settings.Tasks) throw new InvalidOperationException($"The queue '{Queue}' holds {queued} messages after the fill, not {settings.Tasks}.");
            log.Step($"{name}: drain {settings.Tasks} with -P {pool} -c {concurrency} (queue filled at {fill.Rate:N0} tasks/s)");
            var (drain, worker) = await DrainMeasurement.RunAsync($"-P {pool} -c {concurrency}", fill,
                probe => celery.StartWorker(pool, concurrency, "warning", probe, settings.Tasks), () => redis.ListLengthAsync(Queue), redis,
                settings.DrainTimeout, cancellationToken);
            await using (worker)
            {
                log.Result(drain);
                drains.Add(drain);
                if (roundTrips is null)
                {
                    log.Step($"{name}: {settings.RoundTrips} round trips bench.add delay → get against -P {pool} -c {concurrency}");
                    roundTrips = await celery.RoundTripsAsync(settings.RoundTrips, settings.Warmup, cancellationToken);
                    log.Result(roundTrips);
                }
                await worker.StopAsync(TimeSpan.FromSeconds(60));
            }
            await redis.FlushAsync();
        }
        return new SystemResult(name, idle, $"-P {pool} -c {concurrencies[0]}", single, bulk, drains, roundTrips!);
    }
}
