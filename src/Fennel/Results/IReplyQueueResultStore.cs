namespace Fennel.Results;

/// <summary>
/// A result store that sends results to the caller's own reply queue instead of storing them (Celery's <c>rpc://</c>).
/// The client addresses its tasks to <see cref="ReplyTo"/> and makes sure the queue exists before it publishes, so no
/// result is sent to a queue that is not there yet.
/// </summary>
public interface IReplyQueueResultStore : IResultStore
{
    /// <summary>This process's reply queue: the <c>reply_to</c> of the tasks it sends.</summary>
    string ReplyTo { get; }

    /// <summary>Declares the reply queue and starts receiving results, once.</summary>
    Task EnsureReplyQueueAsync(CancellationToken cancellationToken = default);
}
