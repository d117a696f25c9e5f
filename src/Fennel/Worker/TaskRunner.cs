using System.Diagnostics;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Worker.Pools;
using Microsoft.Extensions.DependencyInjection;

namespace Fennel.Worker;

/// <summary>
/// Runs one task and says how it ended: the handler in a DI scope on the pool, with its cancellation token (soft time
/// limit, cold shutdown, terminate), the hard time limit, retries asked for or automatic. Time limits come from the
/// message's <c>timelimit</c> header (set per call), else the task's options, else the worker's defaults. It stores and settles nothing: the worker
/// does that (<c>Worker.Execute.cs</c>), and so does eager mode (<see cref="EagerRunner"/>).
/// </summary>
/// <remarks>
/// Two halves, one place: <see cref="RunAsync"/> is the worker's side (expiry, the hard limit, terminate, cold shutdown,
/// a lost child) and hands the run to the pool; <see cref="InvokeAsync"/> is where the handler runs (soft limit, retries,
/// failures). In-process pools call <see cref="InvokeAsync"/> on their thread; a process pool's child calls it on its own
/// runner and sends the outcome back, so no outcome is decided anywhere else.
/// </remarks>
internal sealed class TaskRunner(IServiceProvider services, IWorkerPool pool, string workerName, TimeProvider time,
    TimeSpan? defaultSoftTimeLimit = null, TimeSpan? defaultTimeLimit = null)
{
    private readonly Random _jitter = new();

    public IWorkerPool Pool => pool;

    /// <summary>Runs <paramref name="job"/>; <paramref name="cold"/> interrupts it (nothing recorded), <paramref name="terminate"/> revokes it.</summary>
    public async Task<TaskOutcome> RunAsync(TaskJob job, CancellationToken cold, CancellationToken terminate = default)
    {
        var message = job.Message;
        var started = Stopwatch.GetTimestamp();
        if (message.Expires is { } expires && expires <= time.GetUtcNow()) return new TaskOutcome.Expired(0);

        var soft = SecondsOrNull(message.TimeLimit.Soft) ?? job.Task.Options.SoftTimeLimit ?? defaultSoftTimeLimit;
        var hard = SecondsOrNull(message.TimeLimit.Hard) ?? job.Task.Options.TimeLimit ?? defaultTimeLimit;
        // The hard limit counts from when the handler starts (a thread took it, a child got it), not from waiting for one.
        using var hardLimit = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cold, terminate);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(terminate, hardLimit.Token);
        using var activity = FennelDiagnostics.ActivitySource.StartActivity("fennel.run " + message.Task, ActivityKind.Consumer);
        activity?.SetTag("fennel.task.id", message.Id);
        var work = new PoolWork(this, job, soft, () =>
        {
            if (hard is not { } h) return;
            try
            {
                hardLimit.CancelAfter(h);
            }
            catch (ObjectDisposedException)
            {
                // The run was over before the pool started it.
            }
        });
        Task<TaskOutcome>? run = null;
        try
        {
            run = pool.RunAsync(work, stop.Token);
            // A terminated handler that ignores its token is abandoned like one past its hard limit: the task ends now.
            return await run.WaitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (hardLimit.IsCancellationRequested && !terminate.IsCancellationRequested && !cold.IsCancellationRequested)
        {
            if (run is { IsCompletedSuccessfully: true }) return run.Result; // it returned just at the limit
            if (run is not null) pool.Abandon(run, AbandonReason.TimeLimit);
            await stop.CancelAsync().ConfigureAwait(false);
            return new TaskOutcome.Failed(new RemoteException("TimeLimitExceeded", $"TimeLimitExceeded({hard.GetValueOrDefault().TotalSeconds})", "billiard.exceptions", null),
                null, Elapsed(started));
        }
        catch (Exception) when (cold.IsCancellationRequested)
        {
            // Whatever the handler did once the token fired for shutdown, it did not finish: it runs again elsewhere.
            return new TaskOutcome.Interrupted(Elapsed(started));
        }
        catch (Exception) when (terminate.IsCancellationRequested)
        {
            if (run is { IsCompleted: false }) pool.Abandon(run, AbandonReason.Terminated);
            return new TaskOutcome.Revoked("terminated", Elapsed(started));
        }
        catch (WorkerLostException lost)
        {
            return new TaskOutcome.Lost(lost.Message, Elapsed(started));
        }
        catch (Exception ex)
        {
            // The pool itself failed (not the handler: InvokeAsync turns every handler exception into an outcome).
            return new TaskOutcome.Failed(RemoteException.From(ex), ex, Elapsed(started));
        }
    }

    /// <summary>
    /// Runs the handler where the pool put it (a thread here, or a child process) in a DI scope, with the soft time limit
    /// and <paramref name="cancellationToken"/> (cold shutdown, terminate) on its token, and says how it ended: success,
    /// failure, or retry. When <paramref name="cancellationToken"/> fired, whatever the handler threw goes up to
    /// <see cref="RunAsync"/>, which knows why it fired.
    /// </summary>
    public async Task<TaskOutcome> InvokeAsync(TaskJob job, TimeSpan? softTimeLimit, CancellationToken cancellationToken)
    {
        var message = job.Message;
        var started = Stopwatch.GetTimestamp();
        using var softLimit = new CancellationTokenSource();
        if (softTimeLimit is { } s) softLimit.CancelAfter(s);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, softLimit.Token);
        var context = new TaskContext(message, job.Delivery.Queue, workerName, job.Delivery.DeliveryCount, cancel.Token, softLimit.Token);
        TaskContext.Current = context;
        try
        {
            await using var scope = services.CreateAsyncScope();
            var value = await job.Task.Invoker.InvokeAsync(job.Arguments, scope.ServiceProvider, context, cancel.Token).ConfigureAwait(false);
            return new TaskOutcome.Succeeded(value, Elapsed(started));
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (RetryException retry)
        {
            return Retry(job, retry.InnerException, retry.Countdown, retry.MaxRetries, started);
        }
        catch (Exception ex) when (job.Task.Options.AutoRetryFor.Any(t => t.IsInstanceOfType(ex)))
        {
            return Retry(job, ex, null, null, started);
        }
        catch (OperationCanceledException ex) when (softLimit.IsCancellationRequested)
        {
            return new TaskOutcome.Failed(new RemoteException("SoftTimeLimitExceeded", $"SoftTimeLimitExceeded({softTimeLimit.GetValueOrDefault().TotalSeconds})",
                "billiard.exceptions", ex.ToString()), ex, Elapsed(started));
        }
        catch (Exception ex)
        {
            return new TaskOutcome.Failed(RemoteException.From(ex), ex, Elapsed(started));
        }
    }

    /// <summary>
    /// The same task again (same id, <c>retries + 1</c>, <c>parent_id</c> = itself, due after the backoff), or a failure
    /// past the retry limit.
    /// </summary>
    private TaskOutcome Retry(TaskJob job, Exception? reason, TimeSpan? countdown, int? maxRetries, long started)
    {
        var message = job.Message;
        var limit = maxRetries ?? job.Task.Options.MaxRetries;
        if (message.Retries >= limit)
        {
            var final = reason ?? new MaxRetriesExceededException($"Can't retry {message.Task}[{message.Id}]: max retries ({limit}) exceeded.", null);
            return new TaskOutcome.Failed(RemoteException.From(final), final, Elapsed(started));
        }
        TimeSpan delay;
        lock (_jitter) delay = countdown ?? job.Task.Options.BackoffFor(message.Retries, _jitter);
        var next = message with { Retries = message.Retries + 1, Eta = time.GetUtcNow() + delay, ParentId = message.Id };
        var error = reason is null ? new RemoteException("Retry", "Retry requested", "celery.exceptions", null) : RemoteException.From(reason);
        return new TaskOutcome.Retried(next, delay, limit, error, Elapsed(started));
    }

    private static double Elapsed(long started) => Stopwatch.GetElapsedTime(started).TotalSeconds;

    private static TimeSpan? SecondsOrNull(double? seconds) => seconds is > 0 ? TimeSpan.FromSeconds(seconds.Value) : null;
}
