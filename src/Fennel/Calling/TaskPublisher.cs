using System.Collections.Concurrent;
using System.Diagnostics;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Transport;

namespace Fennel.Calling;

/// <summary>
/// Puts built task messages on the broker: declares each queue once, makes sure the rpc reply queue exists, encodes and
/// publishes (one call, or one batch), counts them, and reports them for <c>task-sent</c> events. The client publishes
/// what it sends through it, and the worker publishes retries through the same one; neither goes through the other.
/// In eager mode it runs each message in this process instead.
/// </summary>
internal sealed class TaskPublisher(Func<ITransport> transport, Func<IReplyQueueResultStore?> replyQueue, TimeProvider time,
    Action<ITransport, IReadOnlyList<(TaskMessage Message, string Queue)>> sent)
{
    private readonly ConcurrentDictionary<string, Task> _declared = new(StringComparer.Ordinal);

    /// <summary>Set in eager mode: runs a task in this process in place of publishing it.</summary>
    public Func<TaskMessage, string, CancellationToken, Task>? RunEagerly { get; set; }

    /// <summary>Publishes one message to <paramref name="queue"/>.</summary>
    public Task PublishAsync(TaskMessage message, string queue, CancellationToken cancellationToken = default) =>
        PublishAsync([(message, queue)], cancellationToken);

    /// <summary>Publishes messages in as few broker round trips as possible.</summary>
    public async Task PublishAsync(IReadOnlyList<(TaskMessage Message, string Queue)> messages, CancellationToken cancellationToken = default)
    {
        if (RunEagerly is { } run)
        {
            foreach (var (message, queue) in messages) await run(message, queue, cancellationToken).ConfigureAwait(false);
            return;
        }
        var broker = transport();
        if (replyQueue() is { } replies && messages.Any(m => m.Message.ReplyTo == replies.ReplyTo))
        {
            await replies.EnsureReplyQueueAsync(cancellationToken).ConfigureAwait(false);
        }
        var now = time.GetUtcNow();
        foreach (var queue in messages.Select(m => m.Queue).Distinct(StringComparer.Ordinal))
        {
            await _declared.GetOrAdd(queue, q => broker.DeclareQueueAsync(q, CancellationToken.None)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        var outgoing = messages.Select(m => new OutgoingMessage(m.Queue, TaskEnvelope.Create(m.Message, m.Queue, now), m.Message.Priority,
            m.Message.Eta is { } eta && eta > now ? eta : null, m.Message.Id)).ToList();
        using var activity = FennelDiagnostics.ActivitySource.StartActivity("fennel.publish", ActivityKind.Producer);
        activity?.SetTag("fennel.task.count", outgoing.Count);
        if (outgoing.Count == 1) await broker.PublishAsync(outgoing[0], cancellationToken).ConfigureAwait(false);
        else await broker.PublishBatchAsync(outgoing, cancellationToken).ConfigureAwait(false);
        FennelDiagnostics.TasksSent.Add(outgoing.Count);
        sent(broker, messages);
    }
}
