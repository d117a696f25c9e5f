using System.Collections.Concurrent;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Worker.Pools;

namespace Fennel.Worker;

// Settling a run's outcome: the result first, then the ack (late ack); a retry is re-published before the original is
// acknowledged. Settling runs beside the runners: a runner takes its next job while the last one is being settled.
public sealed partial class Worker
{
    private readonly ConcurrentDictionary<string, Task> _settling = new(StringComparer.Ordinal);

    /// <summary>Messages whose outcome is being stored and acknowledged now.</summary>
    internal int Settling => _settling.Count;

    private void StartSettling(TaskJob job, TaskOutcome outcome)
    {
        var tag = job.Delivery.DeliveryTag;
        var settling = SettleAsync(job, outcome);
        if (settling.IsCompleted) return;
        _settling[tag] = settling;
        // Registered after the add: it removes the entry even when the settle finished in between.
        _ = settling.ContinueWith(done => _settling.TryRemove(new KeyValuePair<string, Task>(tag, done)), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Waits for every outcome being settled (warm shutdown, after the runners stopped).</summary>
    private Task AllSettledAsync() => Task.WhenAll(_settling.Values);

    /// <summary>True while the message's outcome is being settled: a cold shutdown leaves it to its ack.</summary>
    private bool IsSettling(string deliveryTag) => _settling.ContainsKey(deliveryTag);

    private async Task SettleAsync(TaskJob job, TaskOutcome outcome)
    {
        var message = job.Message;
        string state;
        switch (outcome)
        {
            case TaskOutcome.Interrupted:
                return; // cold shutdown: not acknowledged; the message goes back to the broker

            case TaskOutcome.Expired:
                Log.TaskExpired(_logger, message.DisplayName, message.Id, message.Expires!.Value);
                if (!await StoreOutcomeAsync(message, TaskState.Revoked, TaskOutcomes.ExpiredError).ConfigureAwait(false)) goto NotStored;
                await AckAsync(job.Delivery, message.Id).ConfigureAwait(false);
                return;

            case TaskOutcome.Revoked revoked:
                Log.TaskTerminated(_logger, message.DisplayName, message.Id, outcome.Seconds);
                if (!await StoreOutcomeAsync(message, TaskState.Revoked, TaskOutcomes.RevokedError(revoked.Reason)).ConfigureAwait(false)) goto NotStored;
                state = "REVOKED";
                break;

            case TaskOutcome.Succeeded success:
                if (!await StoreOutcomeAsync(message, TaskState.Success, null, success.Value).ConfigureAwait(false)) goto NotStored;
                Log.TaskSucceeded(_logger, message.DisplayName, message.Id, outcome.Seconds, success.Value is null ? "None" : PythonRepr.Of(success.Value));
                state = "SUCCESS";
                break;

            case TaskOutcome.Failed failure:
                // The process pool kills the child and says so itself; in-process pools can only stop waiting.
                if (failure.Error.Type == "TimeLimitExceeded" && _pool is not ProcessPool) Log.HardTimeLimit(_logger, message.DisplayName, message.Id, message.TimeLimit.Hard ?? job.Task.Options.TimeLimit?.TotalSeconds ?? 0, _pool.Name);
                Log.TaskFailed(_logger, message.DisplayName, message.Id, outcome.Seconds, failure.Error.ToString(),
                    failure.Exception ?? new FennelException(failure.Error.ToString()));
                if (!await StoreOutcomeAsync(message, TaskState.Failure, failure.Error).ConfigureAwait(false)) goto NotStored;
                Interlocked.Increment(ref _failed);
                state = "FAILURE";
                break;

            case TaskOutcome.Retried retry:
                try
                {
                    await _app.Client.PublishAsync(retry.Next, job.Delivery.Queue).ConfigureAwait(false);
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
                state = "RETRY";
                break;

            default:
                throw new InvalidOperationException($"Unknown outcome {outcome}.");
        }
        await AckAsync(job.Delivery, message.Id).ConfigureAwait(false);
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
