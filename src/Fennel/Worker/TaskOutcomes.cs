using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Results;

namespace Fennel.Worker;

/// <summary>Writing what happened to a task to the result store, in Celery's shape; shared by the worker and eager mode.</summary>
internal static class TaskOutcomes
{
    /// <summary>What an expired task stores: Celery's <c>TaskRevokedError('expired')</c>.</summary>
    public static readonly RemoteException ExpiredError = new("TaskRevokedError", "expired", "celery.exceptions", null);

    /// <summary>What a revoked task stores: Celery's <c>TaskRevokedError(reason)</c> (<c>revoked</c>, <c>terminated</c>).</summary>
    public static RemoteException RevokedError(string reason) => new("TaskRevokedError", reason, "celery.exceptions", null);

    /// <summary>Stores a state; false (after <paramref name="onError"/>) when the store failed.</summary>
    public static async Task<bool> StoreAsync(IResultStore store, TimeSpan expires, TimeProvider time, string workerName, TaskMessage message,
        TaskState state, RemoteException? error, JsonNode? value, Action<Exception> onError)
    {
        if (message.IgnoreResult && state is not TaskState.Failure) return true;
        var result = new TaskResult
        {
            TaskId = message.Id,
            State = state,
            Result = error?.ToResultJson() ?? value,
            Traceback = error?.Traceback,
            DateDone = state.IsReady() ? time.GetUtcNow() : null,
            ParentId = message.ParentId,
            GroupId = message.Group,
            Worker = workerName,
            ReplyTo = message.ReplyTo,
        };
        try
        {
            await store.StoreAsync(result, expires, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            onError(ex);
            return false;
        }
    }
}
