using System.Collections.Concurrent;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Worker.Pools;

namespace Fennel.Worker;

// Running a task (TaskRunner) and settling its message: result first, then ack (late ack); a retry is re-published
// before the original is acknowledged.
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
                Interlocked.Increment(ref _running);
                TrackStarted(job);
                try
                {
                    await ExecuteAsync(job).ConfigureAwait(false);
                }
                finally
                {
                    Untrack(job.Delivery);
                    Interlocked.Decrement(ref _running);
                }
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

    private async Task ExecuteAsync(TaskJob job)
    {
        var message = job.Message;
        if (Options.TrackStarted) await StoreOutcomeAsync(message, TaskState.Started, null).ConfigureAwait(false);
        OnTaskStarted(message);
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
                        return;
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
        string state;
        switch (outcome)
        {
            case TaskOutcome.Interrupted:
                return; // cold shutdown: not acknowledged; the message goes back to the broker

            case TaskOutcome.Expired:
                Log.TaskExpired(_logger, message.DisplayName, message.Id, message.Expires!.Value);
                if (!await StoreOutcomeAsync(message, TaskState.Revoked, TaskOutcomes.ExpiredError).ConfigureAwait(false)) goto NotStored;
                OnTaskRevoked(message, terminated: false, expired: true);
                await AckAsync(job.Delivery, message.Id).ConfigureAwait(false);
                return;

            case TaskOutcome.Revoked revoked:
                Log.TaskTerminated(_logger, message.DisplayName, message.Id, outcome.Seconds);
                if (!await StoreOutcomeAsync(message, TaskState.Revoked, TaskOutcomes.RevokedError(revoked.Reason)).ConfigureAwait(false)) goto NotStored;
                OnTaskRevoked(message, terminated: true, expired: false);
                state = "REVOKED";
                break;

            case TaskOutcome.Succeeded success:
                if (!await StoreOutcomeAsync(message, TaskState.Success, null, success.Value).ConfigureAwait(false)) goto NotStored;
                OnTaskSucceeded(message, success.Value, outcome.Seconds);
                Log.TaskSucceeded(_logger, message.DisplayName, message.Id, outcome.Seconds, success.Value is null ? "None" : PythonRepr.Of(success.Value));
                state = "SUCCESS";
                break;

            case TaskOutcome.Failed failure:
                // The process pool kills the child and says so itself; in-process pools can only stop waiting.
                if (failure.Error.Type == "TimeLimitExceeded" && _pool is not ProcessPool) Log.HardTimeLimit(_logger, message.DisplayName, message.Id, message.TimeLimit.Hard ?? job.Task.Options.TimeLimit?.TotalSeconds ?? 0, _pool.Name);
                Log.TaskFailed(_logger, message.DisplayName, message.Id, outcome.Seconds, failure.Error.ToString(),
                    failure.Exception ?? new FennelException(failure.Error.ToString()));
                if (!await StoreOutcomeAsync(message, TaskState.Failure, failure.Error).ConfigureAwait(false)) goto NotStored;
                OnTaskFailed(message, failure.Error);
                Interlocked.Increment(ref _failed);
                state = "FAILURE";
                break;

            case TaskOutcome.Retried retry:
                try
                {
                    await _app.Publisher.PublishAsync(retry.Next, job.Delivery.Queue).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // Could not re-publish: keep the original unacknowledged so it runs again after its lease.
                    Log.SettleFailed(_logger, Name, job.Delivery.DeliveryTag, message.Id, "publish retry", ex);
                    Forget(job.Delivery);
                    return;
                }
                Log.TaskRetried(_logger, message.DisplayName, message.Id, retry.Next.Retries, retry.MaxRetries, retry.Delay.TotalSeconds, retry.Reason.ToString());
                await StoreOutcomeAsync(message, TaskState.Retry, retry.Reason).ConfigureAwait(false);
                OnTaskRetried(message, retry.Reason);
                state = "RETRY";
                break;

            default:
                throw new InvalidOperationException($"Unknown outcome {outcome}.");
        }
        // The runner moves on while the ack goes out (acks are batched; waiting for each one's round trip would stretch
        // every run). The message keeps its prefetch permit until acknowledged; a warm shutdown waits for the acks.
        _ = AckInBackgroundAsync(job.Delivery, message.Id);
        Interlocked.Increment(ref _processed);
        FennelDiagnostics.TasksFinished.Add(1, new KeyValuePair<string, object?>("state", state));
        FennelDiagnostics.TaskDuration.Record(outcome.Seconds);
        return;

    NotStored:
        Forget(job.Delivery); // not acknowledged: it runs again after the lease rather than losing its outcome
    }

    /// <summary>Writes a state to the result store; false when the store failed (the caller then does not ack).</summary>
    private Task<bool> StoreOutcomeAsync(TaskMessage message, TaskState state, RemoteException? error, System.Text.Json.Nodes.JsonNode? value = null) =>
        TaskOutcomes.StoreAsync(_results, _app.Options.ResultExpires, _time, Name, message, state, error, value,
            ex => Log.StoreFailed(_logger, Name, message.Id, state.ToWire(), ex));
}
