using System.Diagnostics;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Worker.Pools;

namespace Fennel.Worker;

/// <summary>
/// Runs one task and says how it ended: hands it to the pool with a <see cref="TaskInvocation"/> (the handler in a DI
/// scope, the soft time limit, retries asked for or automatic) and keeps the worker's side: expiry, the hard time limit,
/// terminate, cold shutdown, a lost child. Time limits come from the message's <c>timelimit</c> header (set per call),
/// else the task's options, else the worker's defaults. It stores and settles nothing: <see cref="Settler"/> does that,
/// and so does eager mode (<see cref="EagerRunner"/>).
/// </summary>
/// <remarks>
/// It calls one way: runner → pool → invocation. In-process pools call the invocation on their thread; a process pool's
/// child calls its own and sends the outcome back, so no outcome of a handler is decided anywhere else.
/// </remarks>
internal sealed class TaskRunner(IServiceProvider services, IWorkerPool pool, string workerName, TimeProvider time,
    TimeSpan? defaultSoftTimeLimit = null, TimeSpan? defaultTimeLimit = null)
{
    private readonly TaskInvocation _invocation = new(services, workerName, time);

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
        var work = new PoolWork(_invocation, job, soft, () =>
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
            // The pool itself failed (not the handler: the invocation turns every handler exception into an outcome).
            return new TaskOutcome.Failed(RemoteException.From(ex), ex, Elapsed(started));
        }
    }

    private static double Elapsed(long started) => Stopwatch.GetElapsedTime(started).TotalSeconds;

    private static TimeSpan? SecondsOrNull(double? seconds) => seconds is > 0 ? TimeSpan.FromSeconds(seconds.Value) : null;
}
