using Fennel.Protocol;
using Fennel.Results;
using Fennel.Tasks;
using Fennel.Transport;
using Fennel.Worker.Pools;

namespace Fennel.Worker;

/// <summary>
/// Eager mode (<c>Fennel:Eager</c>): a sent task runs at once in the sending process, through the same
/// <see cref="TaskRunner"/> a worker uses, and its result is stored before the send returns. For unit tests of code that
/// sends tasks. As in Celery's eager mode, retries run again at once, ignoring their delay.
/// </summary>
internal sealed class EagerRunner(FennelApp app)
{
    private readonly TaskRunner _runner = new(app.Services, new AsyncPool(), "eager@" + Environment.MachineName, app.TimeProvider);

    public async Task RunAsync(TaskMessage message, string queue, CancellationToken cancellationToken)
    {
        if (!app.Tasks.TryGet(message.Task, out var task))
        {
            await StoreAsync(message, TaskState.Failure, new RemoteException("NotRegistered", $"'{message.Task}'", "celery.exceptions", null)).ConfigureAwait(false);
            return;
        }
        object?[] arguments;
        try
        {
            arguments = task.Invoker.BindArguments(message.Args, message.Kwargs);
        }
        catch (TaskArgumentException ex)
        {
            await StoreAsync(message, TaskState.Failure, new RemoteException("TypeError", ex.Message, "builtins", null)).ConfigureAwait(false);
            return;
        }
        while (true)
        {
            var job = new TaskJob(new Delivery(queue, ReadOnlyMemory<byte>.Empty, "eager", 1), message, task, arguments);
            switch (await _runner.RunAsync(job, cancellationToken).ConfigureAwait(false))
            {
                case TaskOutcome.Succeeded success:
                    await StoreAsync(message, TaskState.Success, null, success.Value).ConfigureAwait(false);
                    return;
                case TaskOutcome.Failed failure:
                    await StoreAsync(message, TaskState.Failure, failure.Error).ConfigureAwait(false);
                    return;
                case TaskOutcome.Expired:
                    await StoreAsync(message, TaskState.Revoked, TaskOutcomes.ExpiredError).ConfigureAwait(false);
                    return;
                case TaskOutcome.Retried retry:
                    await StoreAsync(message, TaskState.Retry, retry.Reason).ConfigureAwait(false);
                    message = retry.Next;
                    break;
                default:
                    return;
            }
        }
    }

    private async Task StoreAsync(TaskMessage message, TaskState state, RemoteException? error, System.Text.Json.Nodes.JsonNode? value = null)
    {
        Exception? failure = null;
        await TaskOutcomes.StoreAsync(app.Results, app.Options.ResultExpires, app.TimeProvider, "eager", message, state, error, value,
            ex => failure = ex).ConfigureAwait(false);
        if (failure is not null) throw new FennelException($"Eager mode could not store the result of task {message.Id}.", failure);
    }
}
