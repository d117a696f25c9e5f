using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

/// <summary>
/// The worker's <c>concurrency</c> loops: each takes the next job from the dispatcher, checks it is still wanted
/// (shutdown, revoked meanwhile), runs it through <see cref="TaskRunner"/> (which hands it to the pool), runs it again
/// when a process pool child was lost under it, and hands the outcome to <see cref="Settler"/>. It keeps what a running
/// task needs from outside: terminating it (revoke with terminate) and the count of tasks running.
/// </summary>
internal sealed class Runners(ChannelReader<TaskJob> jobs, TaskRunner runner, Settler settler, HeldMessages held, RevokedTasks revoked,
    int maxDeliveries, CancellationToken stopping, CancellationToken cold, ILogger logger)
{
    private readonly List<(Task Loop, CancellationTokenSource Retire)> _loops = [];
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _terminators = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);
    private int _running;

    /// <summary>Tasks running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Tasks started since the worker started, by name (<c>stats</c>' <c>total</c>; Celery counts on accept).</summary>
    public IReadOnlyDictionary<string, long> Totals() => new Dictionary<string, long>(_totals, StringComparer.Ordinal);

    /// <summary>Starts <paramref name="count"/> more loops.</summary>
    public void Start(int count)
    {
        lock (_loops)
        {
            for (var i = 0; i < count; i++)
            {
                var retire = new CancellationTokenSource();
                _loops.Add((Task.Run(() => RunJobsAsync(retire.Token), CancellationToken.None), retire));
            }
            _loops.RemoveAll(r => r.Loop.IsCompleted);
        }
    }

    /// <summary>Picks <paramref name="count"/> loops to leave after their current job; the caller cancels what it returns.</summary>
    public List<CancellationTokenSource> PickRetiring(int count)
    {
        lock (_loops) return [.. _loops.Where(r => !r.Retire.IsCancellationRequested).Take(count).Select(r => r.Retire)];
    }

    /// <summary>Completes when every loop has ended (the job queue completed and drained).</summary>
    public Task AllDoneAsync()
    {
        lock (_loops) return Task.WhenAll(_loops.Select(r => r.Loop));
    }

    /// <summary>Stops the running task <paramref name="taskId"/>; see <see cref="Worker.TryTerminate"/>.</summary>
    public bool TryTerminate(string taskId)
    {
        if (!_terminators.TryGetValue(taskId, out var terminate)) return false;
        try
        {
            terminate.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return false; // it finished meanwhile
        }
        return true;
    }

    /// <summary>One loop; <paramref name="retire"/> ends it between jobs.</summary>
    private async Task RunJobsAsync(CancellationToken retire)
    {
        while (await WaitForJobAsync(retire).ConfigureAwait(false))
        {
            while (!retire.IsCancellationRequested && jobs.TryRead(out var job))
            {
                if (stopping.IsCancellationRequested)
                {
                    await held.ReleaseAsync(job.Delivery, "return unstarted").ConfigureAwait(false);
                    continue;
                }
                if (revoked.Contains(job.Message.Id))
                {
                    await settler.DiscardRevokedAsync(job.Delivery, job.Message).ConfigureAwait(false);
                    continue;
                }
                Interlocked.Increment(ref _running);
                _totals.AddOrUpdate(job.Message.Task, 1, (_, n) => n + 1);
                held.Start(job);
                try
                {
                    await RunAsync(job).ConfigureAwait(false);
                }
                finally
                {
                    held.Untrack(job.Delivery);
                    Interlocked.Decrement(ref _running);
                }
            }
        }
    }

    private async Task<bool> WaitForJobAsync(CancellationToken retire)
    {
        try
        {
            return await jobs.WaitToReadAsync(retire).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (retire.IsCancellationRequested)
        {
            return false; // the pool shrank
        }
    }

    private async Task RunAsync(TaskJob job)
    {
        var message = job.Message;
        await settler.StartedAsync(message).ConfigureAwait(false);
        TaskOutcome outcome;
        using (var terminate = new CancellationTokenSource())
        {
            _terminators[message.Id] = terminate;
            // Revoked between the check before the run and now: the revoke found no task to terminate then.
            if (revoked.Contains(message.Id)) await terminate.CancelAsync().ConfigureAwait(false);
            try
            {
                // A process pool child lost mid-task (crash, FailFast, kill -9, OOM) costs a delivery: the task runs again
                // on another child while its message stays leased here, up to the delivery limit (counted locally, because
                // releasing it to the broker would not count, and waiting for the lease to lapse would take a lease each time).
                var attempt = job;
                while ((outcome = await runner.RunAsync(attempt, cold, terminate.Token).ConfigureAwait(false)) is TaskOutcome.Lost lost)
                {
                    var next = attempt.Delivery.DeliveryCount + 1;
                    if (next > maxDeliveries)
                    {
                        await settler.LostTooOftenAsync(job, attempt.Delivery.DeliveryCount, lost.Reason).ConfigureAwait(false);
                        return;
                    }
                    Log.TaskLostRunAgain(logger, message.DisplayName, message.Id, lost.Reason, next, maxDeliveries);
                    attempt = attempt with { Delivery = attempt.Delivery with { DeliveryCount = next } };
                }
            }
            finally
            {
                _terminators.TryRemove(new KeyValuePair<string, CancellationTokenSource>(message.Id, terminate));
            }
        }
        await settler.SettleAsync(job, outcome).ConfigureAwait(false);
    }
}
