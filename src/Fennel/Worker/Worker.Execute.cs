using System.Diagnostics;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Tasks;
using Microsoft.Extensions.DependencyInjection;

namespace Fennel.Worker;

// Running a task and settling its message: result first, then ack (late ack); retries re-publish before the ack.
public sealed partial class Worker
{
    private readonly Random _jitter = new();

    /// <summary>One of <c>concurrency</c> loops taking jobs from the dispatcher.</summary>
    private async Task RunJobsAsync()
    {
        while (await _jobs.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (_jobs.Reader.TryRead(out var job))
            {
                if (_stopFetching.IsCancellationRequested && State == WorkerState.Stopping)
                {
                    await ReleaseAsync(job.Delivery, "return unstarted").ConfigureAwait(false);
                    continue;
                }
                Interlocked.Increment(ref _running);
                try
                {
                    await ExecuteAsync(job).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _running);
                }
            }
        }
    }

    private async Task ExecuteAsync(TaskJob job)
    {
        var message = job.Message;
        if (IsExpired(message))
        {
            Log.TaskExpired(_logger, message.DisplayName, message.Id, message.Expires!.Value);
            await StoreOutcomeAsync(message, TaskState.Revoked, new RemoteException("TaskRevokedError", "expired", "celery.exceptions", null)).ConfigureAwait(false);
            await AckAsync(job.Delivery, message.Id).ConfigureAwait(false);
            return;
        }

        var soft = SecondsOrNull(message.TimeLimit.Soft) ?? job.Task.Options.SoftTimeLimit;
        var hard = SecondsOrNull(message.TimeLimit.Hard) ?? job.Task.Options.TimeLimit;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_cold.Token);
        if (soft is { } s) cancel.CancelAfter(s);
        var context = new TaskContext(message, job.Delivery.Queue, Name, job.Delivery.DeliveryCount, cancel.Token);
        if (Options.TrackStarted) await StoreOutcomeAsync(message, TaskState.Started, null).ConfigureAwait(false);

        using var activity = FennelDiagnostics.ActivitySource.StartActivity("fennel.run " + message.Task, ActivityKind.Consumer);
        activity?.SetTag("fennel.task.id", message.Id);
        var started = Stopwatch.GetTimestamp();
        JsonNode? value;
        try
        {
            var run = _pool.RunAsync(async () =>
            {
                TaskContext.Current = context;
                await using var scope = _app.Services.CreateAsyncScope();
                return await job.Task.Invoker.InvokeAsync(job.Arguments, scope.ServiceProvider, context, cancel.Token).ConfigureAwait(false);
            }).AsTask();
            value = hard is { } h ? await run.WaitAsync(h, _time).ConfigureAwait(false) : await run.ConfigureAwait(false);
        }
        catch (TimeoutException) when (hard is { } h)
        {
            await cancel.CancelAsync().ConfigureAwait(false);
            Log.HardTimeLimit(_logger, message.DisplayName, message.Id, h.TotalSeconds, _pool.Name);
            await FailAsync(job, new RemoteException("TimeLimitExceeded", $"TimeLimitExceeded({h.TotalSeconds})", "billiard.exceptions", null),
                null, started).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (_cold.IsCancellationRequested)
        {
            return; // cold shutdown: not acknowledged; the message went back to the broker
        }
        catch (RetryException retry)
        {
            await RetryAsync(job, retry.InnerException, retry.Countdown, retry.MaxRetries, started).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (job.Task.Options.AutoRetryFor.Any(t => t.IsInstanceOfType(ex)))
        {
            await RetryAsync(job, ex, null, null, started).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException ex) when (soft is not null && cancel.IsCancellationRequested)
        {
            await FailAsync(job, new RemoteException("SoftTimeLimitExceeded", $"SoftTimeLimitExceeded({soft.Value.TotalSeconds})",
                "billiard.exceptions", ex.ToString()), ex, started).ConfigureAwait(false);
            return;
        }
        catch (Exception ex)
        {
            await FailAsync(job, RemoteException.From(ex), ex, started).ConfigureAwait(false);
            return;
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (!await StoreOutcomeAsync(message, TaskState.Success, null, value).ConfigureAwait(false))
        {
            Forget(job.Delivery); // not acknowledged: it runs again after the lease rather than losing its result
            return;
        }
        await AckAsync(job.Delivery, message.Id).ConfigureAwait(false);
        Interlocked.Increment(ref _processed);
        FennelDiagnostics.TasksFinished.Add(1, new KeyValuePair<string, object?>("state", "SUCCESS"));
        FennelDiagnostics.TaskDuration.Record(seconds);
        Log.TaskSucceeded(_logger, message.DisplayName, message.Id, seconds, value is null ? "None" : PythonRepr.Of(value));
    }

    private async Task FailAsync(TaskJob job, RemoteException error, Exception? exception, long started)
    {
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Log.TaskFailed(_logger, job.Message.DisplayName, job.Message.Id, seconds, error.ToString(), exception ?? new FennelException(error.ToString()));
        if (!await StoreOutcomeAsync(job.Message, TaskState.Failure, error).ConfigureAwait(false))
        {
            Forget(job.Delivery);
            return;
        }
        await AckAsync(job.Delivery, job.Message.Id).ConfigureAwait(false);
        Interlocked.Increment(ref _processed);
        Interlocked.Increment(ref _failed);
        FennelDiagnostics.TasksFinished.Add(1, new KeyValuePair<string, object?>("state", "FAILURE"));
    }

    /// <summary>
    /// Publishes the same task again (same id, <c>retries + 1</c>, <c>parent_id</c> = itself, due after the backoff),
    /// stores RETRY, then acknowledges the original. Past the retry limit the task fails instead.
    /// </summary>
    private async Task RetryAsync(TaskJob job, Exception? reason, TimeSpan? countdown, int? maxRetries, long started)
    {
        var message = job.Message;
        var limit = maxRetries ?? job.Task.Options.MaxRetries;
        if (message.Retries >= limit)
        {
            var final = reason ?? new MaxRetriesExceededException($"Can't retry {message.Task}[{message.Id}]: max retries ({limit}) exceeded.", null);
            await FailAsync(job, RemoteException.From(final), final, started).ConfigureAwait(false);
            return;
        }
        var delay = countdown ?? job.Task.Options.BackoffFor(message.Retries, _jitter);
        var next = message with { Retries = message.Retries + 1, Eta = _time.GetUtcNow() + delay, ParentId = message.Id };
        try
        {
            await _app.Client.PublishAsync(next, job.Delivery.Queue).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Could not re-publish: keep the original unacknowledged so it runs again after its lease.
            Log.SettleFailed(_logger, Name, job.Delivery.DeliveryTag, message.Id, "publish retry", ex);
            Forget(job.Delivery);
            return;
        }
        var error = reason is null ? new RemoteException("Retry", "Retry requested", "celery.exceptions", null) : RemoteException.From(reason);
        Log.TaskRetried(_logger, message.DisplayName, message.Id, next.Retries, limit, delay.TotalSeconds, error.ToString());
        await StoreOutcomeAsync(message, TaskState.Retry, error).ConfigureAwait(false);
        await AckAsync(job.Delivery, message.Id).ConfigureAwait(false);
        Interlocked.Increment(ref _processed);
        FennelDiagnostics.TasksFinished.Add(1, new KeyValuePair<string, object?>("state", "RETRY"));
    }

    /// <summary>Writes a state to the result store; false when the store failed (the caller then does not ack).</summary>
    private async Task<bool> StoreOutcomeAsync(TaskMessage message, TaskState state, RemoteException? error, JsonNode? value = null)
    {
        if (message.IgnoreResult && state is not TaskState.Failure) return true;
        var result = new TaskResult
        {
            TaskId = message.Id,
            State = state,
            Result = error?.ToResultJson() ?? value,
            Traceback = error?.Traceback,
            DateDone = state.IsReady() ? _time.GetUtcNow() : null,
            ParentId = message.ParentId,
            GroupId = message.Group,
            Worker = Name,
        };
        try
        {
            await _results.StoreAsync(result, _app.Options.ResultExpires, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            Log.StoreFailed(_logger, Name, message.Id, state.ToWire(), ex);
            return false;
        }
    }

    private static TimeSpan? SecondsOrNull(double? seconds) => seconds is > 0 ? TimeSpan.FromSeconds(seconds.Value) : null;
}
