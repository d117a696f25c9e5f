using System.Collections.Concurrent;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;

namespace Fennel.Worker;

// Checking each fetched message before it may run: malformed, lost too often, unknown, badly called, expired, not due.
public sealed partial class Worker
{
    /// <summary>Messages due within this window wait in the worker; later ones are parked in the broker.</summary>
    private static readonly TimeSpan EtaWindow = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, (CancellationTokenSource Cancel, Task<bool> Returned)> _waitingForEta = new(StringComparer.Ordinal);

    private async Task DispatchAsync(Delivery delivery)
    {
        TaskMessage message;
        try
        {
            message = TaskEnvelope.Decode(delivery.Body.Span).Message;
        }
        catch (MessageFormatException ex)
        {
            await DeadLetterAsync(delivery, $"malformed message: {ex.Message}").ConfigureAwait(false);
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
            await StoreOutcomeAsync(message, TaskState.Failure, new RemoteException("NotRegistered", $"'{message.Task}'", "celery.exceptions", null)).ConfigureAwait(false);
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
            await StoreOutcomeAsync(message, TaskState.Failure, new RemoteException("TypeError", ex.Message, "builtins", null)).ConfigureAwait(false);
            await DeadLetterAsync(delivery, $"task {message.Task}[{message.Id}]: bad arguments: {ex.Message}").ConfigureAwait(false);
            return;
        }

        Log.TaskReceived(_logger, message.DisplayName, message.Id);
        var job = new TaskJob(delivery, message, task, arguments);
        var now = _time.GetUtcNow();
        if (message.Eta is { } eta && eta > now)
        {
            if (eta - now > EtaWindow && _transport.Capabilities.HasFlag(TransportCapabilities.DelayedDelivery))
            {
                Log.TaskParked(_logger, message.DisplayName, message.Id, eta);
                await ReleaseAsync(delivery, "park until due", eta).ConfigureAwait(false);
                return;
            }
            WaitForEta(job, eta);
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
        await StoreOutcomeAsync(message, TaskState.Failure, new RemoteException("WorkerLostError", reason, "celery.exceptions", null)).ConfigureAwait(false);
        await DeadLetterAsync(delivery, $"task {message.Task}[{message.Id}] {reason}").ConfigureAwait(false);
    }

    /// <summary>Holds a nearly due message (its lease renewed meanwhile) and hands it to the pool when due.</summary>
    private void WaitForEta(TaskJob job, DateTimeOffset eta)
    {
        var cancel = new CancellationTokenSource();
        var tag = job.Delivery.DeliveryTag;
        var returned = WaitThenQueueAsync();
        _waitingForEta[tag] = (cancel, returned);

        async Task<bool> WaitThenQueueAsync()
        {
            await Task.Yield(); // registered in _waitingForEta before it can finish
            try
            {
                await Task.Delay(eta - _time.GetUtcNow() is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero, _time, cancel.Token).ConfigureAwait(false);
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
