using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Protocol;
using Fennel.Python;
using Fennel.Results;
using Fennel.Transport;
using Fennel.Worker.Pools;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

/// <summary>
/// Settles what happened to a task, one method per outcome: the result first, then the message (late ack); a retry is
/// published (through the <see cref="TaskPublisher"/> the client uses) before the original is acknowledged; a result
/// that cannot be stored leaves the message unacknowledged, so it runs again after its lease rather than losing its
/// outcome. Events, counters and metrics go with each. It calls down only: the result store, the publisher,
/// <see cref="HeldMessages"/> and <see cref="TaskEvents"/>.
/// </summary>
internal sealed class Settler(HeldMessages held, TaskPublisher publisher, IResultStore results, TaskEvents events, IWorkerPool pool,
    WorkerOptions options, TimeSpan resultExpires, TimeProvider time, ILogger logger, string node)
{
    private long _processed;
    private long _failed;

    /// <summary>Tasks that ran to an outcome (success, failure, retry, terminated).</summary>
    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>Tasks that ended in FAILURE.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>A runner took the task: STARTED when tracked (<see cref="WorkerOptions.TrackStarted"/>), and <c>task-started</c>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask StartedAsync(TaskMessage message)
    {
        if (options.TrackStarted) await StoreAsync(message, TaskState.Started, null).ConfigureAwait(false);
        events.Started(message);
    }

    /// <summary>Settles a run's outcome (a lost child is the runner's to run again first: see <see cref="LostTooOftenAsync"/>).</summary>
    public ValueTask SettleAsync(TaskJob job, TaskOutcome outcome) => outcome switch
    {
        TaskOutcome.Succeeded success => SucceededAsync(job, success),
        TaskOutcome.Failed failure => FailedAsync(job, failure),
        TaskOutcome.Retried retry => RetriedAsync(job, retry),
        TaskOutcome.Revoked revoked => TerminatedAsync(job, revoked),
        TaskOutcome.Expired => ExpiredAsync(job),
        TaskOutcome.Interrupted => ValueTask.CompletedTask, // cold shutdown: not acknowledged; the message goes back to the broker
        _ => throw new InvalidOperationException($"Unknown outcome {outcome}."),
    };

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SucceededAsync(TaskJob job, TaskOutcome.Succeeded success)
    {
        var message = job.Message;
        if (!await StoreAsync(message, TaskState.Success, null, success.Value).ConfigureAwait(false))
        {
            KeepForRedelivery(job);
            return;
        }
        events.Succeeded(message, success.Value, success.Seconds);
        Log.TaskSucceeded(logger, message.DisplayName, message.Id, success.Seconds, success.Value is null ? "None" : PythonRepr.Of(success.Value));
        Acknowledge(job, "SUCCESS", success.Seconds);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FailedAsync(TaskJob job, TaskOutcome.Failed failure)
    {
        var message = job.Message;
        // The process pool kills the child and says so itself; in-process pools can only stop waiting.
        if (failure.Error.Type == "TimeLimitExceeded" && pool is not ProcessPool)
        {
            Log.HardTimeLimit(logger, message.DisplayName, message.Id, message.TimeLimit.Hard ?? job.Task.Options.TimeLimit?.TotalSeconds ?? 0, pool.Name);
        }
        Log.TaskFailed(logger, message.DisplayName, message.Id, failure.Seconds, failure.Error.ToString(),
            failure.Exception ?? new FennelException(failure.Error.ToString()));
        if (!await StoreAsync(message, TaskState.Failure, failure.Error).ConfigureAwait(false))
        {
            KeepForRedelivery(job);
            return;
        }
        events.Failed(message, failure.Error);
        Interlocked.Increment(ref _failed);
        Acknowledge(job, "FAILURE", failure.Seconds);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RetriedAsync(TaskJob job, TaskOutcome.Retried retry)
    {
        var message = job.Message;
        try
        {
            await publisher.PublishAsync(retry.Next, job.Delivery.Queue).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Could not re-publish: keep the original unacknowledged so it runs again after its lease.
            Log.SettleFailed(logger, node, job.Delivery.DeliveryTag, message.Id, "publish retry", ex);
            KeepForRedelivery(job);
            return;
        }
        Log.TaskRetried(logger, message.DisplayName, message.Id, retry.Next.Retries, retry.MaxRetries, retry.Delay.TotalSeconds, retry.Reason.ToString());
        await StoreAsync(message, TaskState.Retry, retry.Reason).ConfigureAwait(false);
        events.Retried(message, retry.Reason);
        Acknowledge(job, "RETRY", retry.Seconds);
    }

    /// <summary>Revoked with terminate while it ran: REVOKED <c>terminated</c>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask TerminatedAsync(TaskJob job, TaskOutcome.Revoked revoked)
    {
        var message = job.Message;
        Log.TaskTerminated(logger, message.DisplayName, message.Id, revoked.Seconds);
        if (!await StoreAsync(message, TaskState.Revoked, TaskOutcomes.RevokedError(revoked.Reason)).ConfigureAwait(false))
        {
            KeepForRedelivery(job);
            return;
        }
        events.Revoked(message, terminated: true, expired: false);
        Acknowledge(job, "REVOKED", revoked.Seconds);
    }

    /// <summary>Expired before it could run: REVOKED <c>expired</c>, acknowledged (not counted as processed).</summary>
    private async ValueTask ExpiredAsync(TaskJob job)
    {
        var message = job.Message;
        Log.TaskExpired(logger, message.DisplayName, message.Id, message.Expires!.Value);
        if (!await StoreAsync(message, TaskState.Revoked, TaskOutcomes.ExpiredError).ConfigureAwait(false))
        {
            KeepForRedelivery(job);
            return;
        }
        events.Revoked(message, terminated: false, expired: true);
        await held.AckAsync(job.Delivery, message.Id).ConfigureAwait(false);
    }

    /// <summary>
    /// The runner moves on while the ack goes out (acks are batched; waiting for each one's round trip would stretch
    /// every run). The message keeps its prefetch slot until acknowledged; a warm shutdown waits for the acks.
    /// </summary>
    private void Acknowledge(TaskJob job, string state, double seconds)
    {
        _ = held.AckInBackgroundAsync(job.Delivery, job.Message.Id);
        Interlocked.Increment(ref _processed);
        FennelDiagnostics.TasksFinished.Add(1, new KeyValuePair<string, object?>("state", state));
        FennelDiagnostics.TaskDuration.Record(seconds);
    }

    /// <summary>Not acknowledged: it runs again after the lease rather than losing its outcome.</summary>
    private void KeepForRedelivery(TaskJob job) => held.Forget(job.Delivery);

    // ---- refused and discarded before a run --------------------------------------------------------------------------

    /// <summary>Marks a revoked task REVOKED (Celery's <c>TaskRevokedError('revoked')</c>) and acknowledges its message unrun.</summary>
    public async Task DiscardRevokedAsync(Delivery delivery, TaskMessage message)
    {
        Log.TaskRevokedDiscarded(logger, message.DisplayName, message.Id);
        if (!await StoreAsync(message, TaskState.Revoked, TaskOutcomes.RevokedError("revoked")).ConfigureAwait(false))
        {
            held.Forget(delivery); // not acknowledged: it comes back after its lease and is discarded then, its outcome stored
            return;
        }
        events.Revoked(message, terminated: false, expired: false);
        await held.AckAsync(delivery, message.Id).ConfigureAwait(false);
        FennelDiagnostics.TasksFinished.Add(1, new KeyValuePair<string, object?>("state", "REVOKED"));
    }

    /// <summary>
    /// A message the worker will not run (unknown task, arguments that do not fit, lost too often): FAILURE with
    /// <paramref name="error"/> for its callers, <c>task-failed</c> and <c>task-rejected</c>, and dead-lettered with
    /// <paramref name="reason"/>.
    /// </summary>
    public async Task RefuseAsync(Delivery delivery, TaskMessage message, RemoteException error, string reason)
    {
        await StoreAsync(message, TaskState.Failure, error).ConfigureAwait(false);
        events.Refused(message, error);
        await held.DeadLetterAsync(delivery, reason).ConfigureAwait(false);
    }

    /// <summary>
    /// A task whose worker was lost on every delivery up to the limit (a redelivery from the broker, or a process pool
    /// child lost on each local run): FAILURE <c>WorkerLostError</c> for its callers, and dead-lettered with the reason.
    /// </summary>
    public Task WorkerLostAsync(Delivery delivery, TaskMessage message, int deliveries, string? lastLoss)
    {
        var reason = $"delivered {deliveries} times without finishing (limit {options.MaxDeliveries}); the worker running it was lost each time" +
            (lastLoss is null ? "" : $" (last: {lastLoss})");
        var workerLost = new RemoteException("WorkerLostError", reason, "celery.exceptions", null);
        return RefuseAsync(delivery, message, workerLost, $"task {message.Task}[{message.Id}] {reason}");
    }

    /// <summary>A process pool child was lost on its run and the next run would pass the delivery limit: it counts as failed.</summary>
    public async Task LostTooOftenAsync(TaskJob job, int deliveries, string lastLoss)
    {
        await WorkerLostAsync(job.Delivery, job.Message, deliveries, lastLoss).ConfigureAwait(false);
        Interlocked.Increment(ref _failed);
    }

    /// <summary>Writes a state to the result store; false when the store failed (the caller then does not ack).</summary>
    private Task<bool> StoreAsync(TaskMessage message, TaskState state, RemoteException? error, JsonNode? value = null) =>
        TaskOutcomes.StoreAsync(results, resultExpires, time, node, message, state, error, value,
            ex => Log.StoreFailed(logger, node, message.Id, state.ToWire(), ex));
}
