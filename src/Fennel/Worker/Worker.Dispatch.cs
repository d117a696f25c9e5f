using System.Collections.Concurrent;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;

namespace Fennel.Worker;

// Checking each fetched message before it may run: malformed, revoked, lost too often, unknown, badly called, expired,
// not due, over its rate limit.
public sealed partial class Worker
{
    /// <summary>Messages due within this window wait in the worker; later ones are parked in the broker.</summary>
    private static readonly TimeSpan EtaWindow = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Held messages waiting in the worker before they may go to the pool — for their ETA, their rate-limit turn, or
    /// both — by delivery tag: cancelling one gives its message back unstarted (shutdown).
    /// </summary>
    private readonly ConcurrentDictionary<string, (CancellationTokenSource Cancel, Task<bool> Returned)> _waitingForEta = new(StringComparer.Ordinal);

    private async Task DispatchAsync(Delivery delivery)
    {
        TaskMessage message;
        try
        {
            message = TaskMessageCodec.Decode(delivery.Envelope);
        }
        catch (MessageFormatException ex)
        {
            OnMalformedRefused(delivery);
            await DeadLetterAsync(delivery, $"malformed message: {ex.Message}").ConfigureAwait(false);
            return;
        }

        if (IsRevoked(message.Id))
        {
            await DiscardRevokedAsync(delivery, message).ConfigureAwait(false);
            return;
        }

        if (delivery.DeliveryCount > Options.MaxDeliveries)
        {
            await DeadLetterWorkerLostAsync(delivery, message, delivery.DeliveryCount, null).ConfigureAwait(false);
            return;
        }

        if (!_app.Tasks.TryGet(message.Task, out var task))
        {
            var reason = $"unknown task '{message.Task}': no task of that name is registered on {Name}";
            var notRegistered = new RemoteException("NotRegistered", $"'{message.Task}'", "celery.exceptions", null);
            await StoreOutcomeAsync(message, TaskState.Failure, notRegistered).ConfigureAwait(false);
            OnTaskRefused(message, notRegistered);
            await DeadLetterAsync(delivery, $"task {message.Id}: {reason}").ConfigureAwait(false);
            return;
        }

        object?[] arguments;
        try
        {
            arguments = task.Invoker.BindArguments(message.Args, message.Kwargs);
        }
        catch (TaskArgumentException ex)
        {
            var typeError = new RemoteException("TypeError", ex.Message, "builtins", null);
            await StoreOutcomeAsync(message, TaskState.Failure, typeError).ConfigureAwait(false);
            OnTaskRefused(message, typeError);
            await DeadLetterAsync(delivery, $"task {message.Task}[{message.Id}]: bad arguments: {ex.Message}").ConfigureAwait(false);
            return;
        }

        Log.TaskReceived(_logger, message.DisplayName, message.Id);
        OnTaskReceived(message, task);
        var job = new TaskJob(delivery, message, WithTimeLimits(task), arguments);
        TrackReceived(job);
        var now = _time.GetUtcNow();
        if (message.Eta is { } eta && eta > now)
        {
            if (eta - now > EtaWindow && _transport.Capabilities.HasFlag(TransportCapabilities.DelayedDelivery))
            {
                Log.TaskParked(_logger, message.DisplayName, message.Id, eta);
                await ReleaseAsync(delivery, "park until due", eta).ConfigureAwait(false);
                return;
            }
            WaitForTurn(job, eta);
            return;
        }
        if (RateLimitLineFor(task) is { } line)
        {
            if (await GiveBackWhenManyWaitAsync(job, line).ConfigureAwait(false)) return;
            WaitForTurn(job, null);
            return;
        }
        await _jobs.Writer.WriteAsync(job).ConfigureAwait(false);
    }

    /// <summary>
    /// A task whose worker was lost on every delivery up to the limit (a redelivery from the broker, or a process pool
    /// child lost on each local run): FAILURE <c>WorkerLostError</c> for its callers, and dead-lettered with the reason.
    /// </summary>
    private async Task DeadLetterWorkerLostAsync(Delivery delivery, TaskMessage message, int deliveries, string? lastLoss)
    {
        var reason = $"delivered {deliveries} times without finishing (limit {Options.MaxDeliveries}); the worker running it was lost each time" +
            (lastLoss is null ? "" : $" (last: {lastLoss})");
        var workerLost = new RemoteException("WorkerLostError", reason, "celery.exceptions", null);
        await StoreOutcomeAsync(message, TaskState.Failure, workerLost).ConfigureAwait(false);
        OnTaskRefused(message, workerLost);
        await DeadLetterAsync(delivery, $"task {message.Task}[{message.Id}] {reason}").ConfigureAwait(false);
    }

    /// <summary>
    /// Holds a message (its lease renewed meanwhile) until its ETA, if any, and then its rate-limit turn, if its task is
    /// rate-limited then; hands it to the pool after. Other tasks are not held up: a message waiting for its turn gives
    /// its prefetch slot back (see <see cref="TryWaitWithoutSlot"/>).
    /// </summary>
    private void WaitForTurn(TaskJob job, DateTimeOffset? eta)
    {
        var cancel = new CancellationTokenSource();
        var tag = job.Delivery.DeliveryTag;
        // Without an ETA to wait for, it takes its place in the rate-limit line now, in arrival order (the waits below run
        // concurrently and could otherwise join in any order).
        var turn = eta is null ? RateLimitLineFor(job.Task)?.Join() : null;
        var returned = WaitThenQueueAsync();
        _waitingForEta[tag] = (cancel, returned);

        async Task<bool> WaitThenQueueAsync()
        {
            await Task.Yield(); // registered in _waitingForEta before it can finish
            try
            {
                if (eta is { } due)
                {
                    await Task.Delay(due - _time.GetUtcNow() is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero, _time, cancel.Token).ConfigureAwait(false);
                }
                turn ??= RateLimitLineFor(job.Task)?.Join();
                if (turn is not null)
                {
                    TryWaitWithoutSlot(job.Delivery);
                    await RateLimitLine.WaitTurnAsync(turn, cancel.Token).ConfigureAwait(false);
                }
                if (IsRevoked(job.Message.Id))
                {
                    await DiscardRevokedAsync(job.Delivery, job.Message).ConfigureAwait(false);
                    return false;
                }
                if (_jobs.Writer.TryWrite(job)) return false;
            }
            catch (OperationCanceledException)
            {
                // Shutdown: give it back below.
            }
            finally
            {
                _waitingForEta.TryRemove(tag, out _);
                cancel.Dispose();
            }
            return await ReleaseAsync(job.Delivery, "return unstarted").ConfigureAwait(false);
        }
    }
}
