using System.Diagnostics;
using System.Text.Json.Nodes;
using Fennel.Bench.Brokers;
using Fennel.Bench.Processes;
using Fennel.Calling;

namespace Fennel.Bench.Measuring;

/// <summary>
/// The I/O scenario (<c>--scenario io</c>), on the run's Redis: for each system one after another, a drain of
/// <c>bench.sleep(10 ms)</c> tasks at concurrency 100 (queue filled before the worker starts, measured by the drain probe
/// as the no-op drains are, from the first task's start to the last task's end), then many tasks sleeping at once on
/// one worker (Fennel -P async and Celery -P gevent only: a thread per sleeper is not what those pools are for).
/// </summary>
internal sealed class IoBench(BenchSettings settings, IBenchBroker broker, PythonCelery celery, RunLog log)
{
    private const string Queue = "celery";

    private int SleepMs => (int)settings.IoSleep.TotalMilliseconds;

    public async Task<IoResult> RunAsync(IReadOnlyList<string> systems, CancellationToken cancellationToken)
    {
        var drains = new List<IoDrain>();
        foreach (var system in systems)
        {
            foreach (var (name, concurrency, configuration, start) in DrainWorkers(system))
            {
                await broker.ResetAsync();
                var fill = await FillAsync(system, settings.IoTasks, SleepMs, cancellationToken);
                log.Step($"{name}: drain {settings.IoTasks} bench.sleep({SleepMs} ms) with {configuration} (queue filled at {fill.Rate:N0} tasks/s)");
                var (drain, worker) = await DrainMeasurement.RunAsync(configuration, fill, start, () => broker.QueueLengthAsync(Queue), broker,
                    settings.DrainTimeout, cancellationToken);
                await using (worker)
                {
                    log.Result(drain);
                    drains.Add(new IoDrain(name, concurrency, settings.IoSleep, drain));
                    await worker.StopAsync(TimeSpan.FromSeconds(60));
                }
            }
        }

        var sleepers = new List<SleepersResult>();
        if (settings.Sleepers > 0)
        {
            foreach (var system in systems.Where(s => s is "fennel" or "celery-gevent"))
            {
                await broker.ResetAsync();
                var sleepMs = (int)settings.SleeperSleep.TotalMilliseconds;
                var fill = await FillAsync(system, settings.Sleepers, sleepMs, cancellationToken);
                var (name, configuration, start) = SleepersWorker(system);
                log.Step($"{name}: {settings.Sleepers} bench.sleep({settings.SleeperSleep.TotalSeconds:0.#} s) at once with {configuration} " +
                    $"(queue filled at {fill.Rate:N0} tasks/s; at most {(settings.SleeperSleep + settings.SleepersTimeout).TotalSeconds:0} s)");
                var result = await SleepersMeasurement.RunAsync(name, configuration, fill, settings.SleeperSleep, start,
                    () => broker.QueueLengthAsync(Queue), settings.SleepersTimeout, cancellationToken);
                log.Detail(result.Failure is { } failure
                    ? $"gave up: {failure}; peak RSS {result.PeakMemory.RssMiB:0.0} MiB; {result.QueueLengthAfter} left in the queue"
                    : $"peak {result.Peak} sleeping at once; {(result.AllAtOnce ? "all" : "not all")} at once; last finished {result.FirstToLast!.Value.TotalSeconds:0.00} s " +
                      $"after the first started; RSS while all sleep {result.MemoryAllSleeping?.RssMiB:0.0} MiB, peak {result.PeakMemory.RssMiB:0.0} MiB");
                sleepers.Add(result);
            }
        }
        await broker.ResetAsync();
        TimerCeiling? ceiling = null;
        if (drains.Count > 0)
        {
            log.Step($"Timer ceiling: {settings.IoTasks} Task.Delay({SleepMs} ms) in {settings.IoConcurrency} loops in this process, no broker");
            ceiling = await TimerCeiling.MeasureAsync(settings.IoTasks, settings.IoConcurrency, settings.IoSleep, cancellationToken);
            log.Detail($"{ceiling.Rate:N0} delays/s ({ceiling.Elapsed.TotalSeconds:0.000} s)");
        }
        return new IoResult(drains, sleepers, ceiling);
    }

    /// <summary>The drains a system runs: Fennel async, Celery gevent and threads at the I/O concurrency; prefork at its own.</summary>
    private IEnumerable<(string Name, int Concurrency, string Configuration, Func<string, ChildProcess> Start)> DrainWorkers(string system)
    {
        if (system == "fennel")
        {
            var worker = new FennelWorker("async", settings.IoConcurrency);
            yield return ("Fennel", settings.IoConcurrency, worker.Configuration, probe => worker.Start(broker.FennelBroker, broker.FennelResults, "warning", probe, settings.IoTasks));
            yield break;
        }
        var pool = system["celery-".Length..];
        var concurrencies = pool == "prefork" ? settings.IoCeleryPrefork : [settings.IoConcurrency];
        foreach (var concurrency in concurrencies)
        {
            var worker = new CeleryWorker(pool, concurrency);
            yield return ($"Celery {pool}", concurrency, worker.Configuration, probe => celery.StartWorker(worker, "warning", probe, settings.IoTasks));
        }
    }

    private (string Name, string Configuration, Func<string, ChildProcess> Start) SleepersWorker(string system)
    {
        if (system == "fennel")
        {
            var worker = new FennelWorker("async", settings.Sleepers, settings.SleepersPrefetchMultiplier);
            return ("Fennel", worker.Configuration, probe => worker.Start(broker.FennelBroker, broker.FennelResults, "warning", probe, settings.Sleepers));
        }
        var celeryWorker = new CeleryWorker("gevent", settings.Sleepers, settings.SleepersPrefetchMultiplier);
        return ("Celery gevent", celeryWorker.Configuration, probe => celery.StartWorker(celeryWorker, "warning", probe, settings.Sleepers));
    }

    /// <summary>
    /// Queues the tasks with the system's own client, so each worker runs its own kind of message: Fennel with
    /// <c>SendBatchAsync</c>, Celery with <c>apply_async</c> one at a time. No warm-up: the fill is not a figure here.
    /// </summary>
    private async Task<EnqueueResult> FillAsync(string system, int count, int sleepMs, CancellationToken cancellationToken)
    {
        EnqueueResult fill;
        if (system == "fennel")
        {
            var (app, _) = BenchApp.Build(["-b", broker.FennelBroker, "--result-backend", broker.FennelResults, "-l", "warning"]);
            await using (app)
            {
                var started = Stopwatch.GetTimestamp();
                for (var sent = 0; sent < count; sent += settings.BatchSize)
                {
                    var calls = new TaskCall[Math.Min(settings.BatchSize, count - sent)];
                    for (var i = 0; i < calls.Length; i++) calls[i] = new TaskCall(BenchTasks.SleepName, new JsonArray(sleepMs));
                    await app.Client.SendBatchAsync(calls, cancellationToken);
                }
                fill = new EnqueueResult($"SendBatchAsync, {settings.BatchSize} per call", count, Stopwatch.GetElapsedTime(started));
            }
        }
        else
        {
            fill = await celery.EnqueueAsync(count, "loop", TimeSpan.Zero, cancellationToken, sleepMs);
        }
        var queued = await broker.QueueLengthAsync(Queue);
        if (queued != count) throw new InvalidOperationException($"The queue '{Queue}' holds {queued} messages after the fill, not {count}.");
        return fill;
    }
}
