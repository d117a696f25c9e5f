using System.Collections.Concurrent;
using Fennel.Results;

namespace Fennel.Worker;

// Running a task: one of `concurrency` runner loops takes a job, runs it through TaskRunner and the pool (terminate, a
// lost process pool child run again up to the delivery limit), and hands the outcome to Worker.Settle.cs.
public sealed partial class Worker
{
    private TaskRunner _runner = null!;
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _terminators = new(StringComparer.Ordinal);

    /// <summary>
    /// Stops the running task <paramref name="taskId"/> (revoke with terminate): it ends REVOKED <c>terminated</c> and its
    /// message is acknowledged. In the process pool its child is killed; elsewhere its token fires and the worker stops
    /// waiting for it. False when no task of that id runs here.
    /// </summary>
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

    /// <summary>One of <c>concurrency</c> loops taking jobs from the dispatcher; <paramref name="retire"/> ends it between jobs.</summary>
    private async Task RunJobsAsync(CancellationToken retire)
    {
        while (await WaitForJobAsync(retire).ConfigureAwait(false))
        {
            while (!retire.IsCancellationRequested && _jobs.Reader.TryRead(out var job))
            {
                if (_stopFetching.IsCancellationRequested && State == WorkerState.Stopping)
                {
                    await ReleaseAsync(job.Delivery, "return unstarted").ConfigureAwait(false);
                    continue;
                }
                if (IsRevoked(job.Message.Id))
                {
                    await DiscardRevokedAsync(job.Delivery, job.Message).ConfigureAwait(false);
                    continue;
                }
                TaskOutcome? outcome;
                Interlocked.Increment(ref _running);
                try
                {
                    outcome = await RunAsync(job).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _running);
                }
                // The slot is free once the handler is done: storing the result and acknowledging go on meanwhile (the
                // message keeps its prefetch permit until then), so broker round trips do not stretch every run.
                if (outcome is not null) StartSettling(job, outcome);
            }
        }
    }

    private async Task<bool> WaitForJobAsync(CancellationToken retire)
    {
        try
        {
            return await _jobs.Reader.WaitToReadAsync(retire).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (retire.IsCancellationRequested)
        {
            return false; // the pool shrank
        }
    }

    /// <summary>Runs a job to its outcome; null when nothing is left to settle (dead-lettered after its child was lost too often).</summary>
    private async Task<TaskOutcome?> RunAsync(TaskJob job)
    {
        var message = job.Message;
        if (Options.TrackStarted) await StoreOutcomeAsync(message, TaskState.Started, null).ConfigureAwait(false);
        TaskOutcome outcome;
        using (var terminate = new CancellationTokenSource())
        {
            _terminators[message.Id] = terminate;
            // Revoked between the check before the pool took it and now: the watcher found no task to terminate then.
            if (IsRevoked(message.Id)) await terminate.CancelAsync().ConfigureAwait(false);
            try
            {
                // A process pool child lost mid-task (crash, FailFast, kill -9, OOM) costs a delivery: the task runs again
                // on another child while its message stays leased here, up to the delivery limit (counted locally, because
                // releasing it to the broker would not count, and waiting for the lease to lapse would take a lease each time).
                var attempt = job;
                while ((outcome = await _runner.RunAsync(attempt, _cold.Token, terminate.Token).ConfigureAwait(false)) is TaskOutcome.Lost lost)
                {
                    var next = attempt.Delivery.DeliveryCount + 1;
                    if (next > Options.MaxDeliveries)
                    {
                        await DeadLetterWorkerLostAsync(job.Delivery, message, attempt.Delivery.DeliveryCount, lost.Reason).ConfigureAwait(false);
                        Interlocked.Increment(ref _failed);
                        return null;
                    }
                    Log.TaskLostRunAgain(_logger, message.DisplayName, message.Id, lost.Reason, next, Options.MaxDeliveries);
                    attempt = attempt with { Delivery = attempt.Delivery with { DeliveryCount = next } };
                }
            }
            finally
            {
                _terminators.TryRemove(new KeyValuePair<string, CancellationTokenSource>(message.Id, terminate));
            }
        }
        return outcome;
    }
}
