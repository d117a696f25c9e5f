using Fennel.Transport;

namespace Fennel.Worker;

// The queues consumed, changed at run time by add_consumer / cancel_consumer: the fetch loop reads the list on every
// round, so a change takes effect within a fetch wait (about a second).
public sealed partial class Worker
{
    private readonly Lock _queueGate = new();
    private volatile string[] _queues;

    /// <summary>The queues it consumes now: <see cref="WorkerOptions.Queues"/>, changed by <see cref="AddQueueAsync"/> and <see cref="CancelQueueAsync"/>.</summary>
    public IReadOnlyList<string> Queues => _queues;

    /// <summary>
    /// Starts consuming <paramref name="queue"/> too (Celery's <c>add_consumer</c>), creating it in the broker if needed.
    /// Returns false when it was consumed already.
    /// </summary>
    /// <exception cref="InvalidOperationException">The worker is not running.</exception>
    public async Task<bool> AddQueueAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queue);
        lock (_gate) EnsureRunning($"consume {queue}");
        if (_queues.Contains(queue, StringComparer.Ordinal)) return false;
        await _transport.DeclareQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        lock (_queueGate)
        {
            if (_queues.Contains(queue, StringComparer.Ordinal)) return false;
            _queues = [.. _queues, queue];
        }
        return true;
    }

    /// <summary>
    /// Stops consuming <paramref name="queue"/> (Celery's <c>cancel_consumer</c>): nothing more is fetched from it; messages
    /// already held run as usual, and on a broker that pushes messages ahead (RabbitMQ) those pushed but not fetched go
    /// back to the queue. With no queue left the worker idles until one is added. False when it was not consumed.
    /// </summary>
    public async Task<bool> CancelQueueAsync(string queue, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(queue);
        lock (_queueGate)
        {
            if (!_queues.Contains(queue, StringComparer.Ordinal)) return false;
            _queues = [.. _queues.Where(q => !string.Equals(q, queue, StringComparison.Ordinal))];
        }
        if (_transport is IPrefetchingTransport pushing) await pushing.StopConsumingAsync(queue, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
