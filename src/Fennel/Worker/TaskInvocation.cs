using System.Diagnostics;
using Fennel.Results;
using Fennel.Tasks;
using Microsoft.Extensions.DependencyInjection;

namespace Fennel.Worker;

/// <summary>
/// What a pool calls to run a task's handler where it put it (a thread here, or a child process): the pool is handed
/// one, and never calls the runner back.
/// </summary>
internal interface ITaskInvocation
{
    /// <summary>
    /// Runs the handler of <paramref name="job"/> with the soft time limit and <paramref name="cancellationToken"/> (cold
    /// shutdown, terminate) on its token, and says how it ended: success, failure, or retry. When
    /// <paramref name="cancellationToken"/> fired, whatever the handler threw goes up to the runner, which knows why it fired.
    /// </summary>
    Task<TaskOutcome> InvokeAsync(TaskJob job, TimeSpan? softTimeLimit, CancellationToken cancellationToken);
}

/// <summary>
/// Runs a handler in a DI scope with its <see cref="TaskContext"/>, the soft time limit, and retries (asked for, or
/// automatic for <see cref="TaskOptions.AutoRetryFor"/>), and turns whatever it did into a <see cref="TaskOutcome"/>.
/// The in-process pools call it on their thread; a process pool child calls its own, so no outcome of a handler is
/// decided anywhere else.
/// </summary>
internal sealed class TaskInvocation(IServiceProvider services, string workerName, TimeProvider time) : ITaskInvocation
{
    private readonly Random _jitter = new();

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
        var error = reason is null ? new RemoteException("Retry", "Retry requested", "celery.exceptions", null) : RemoteException.From(reason);
        return new TaskOutcome.Retried(TaskOutcome.Retried.NextOf(message, time.GetUtcNow() + delay), delay, limit, error, Elapsed(started));
    }

    private static double Elapsed(long started) => Stopwatch.GetElapsedTime(started).TotalSeconds;
}
