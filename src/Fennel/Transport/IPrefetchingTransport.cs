namespace Fennel.Transport;

/// <summary>
/// A transport whose broker pushes messages to this process ahead of <see cref="ITransport.FetchAsync"/> (AMQP
/// consumers with a prefetch). Such messages are held by the process, so they are lost with it if it dies, and count as
/// a delivery. A worker running a task that may take the process down (a redelivered one) asks the transport to hold
/// nothing beyond what it already leased.
/// </summary>
public interface IPrefetchingTransport
{
    /// <summary>
    /// With <paramref name="alone"/>, stops the broker from pushing more than the caller has leased and gives back what it
    /// pushed already (not counted as deliveries); without, restores the normal prefetch.
    /// </summary>
    Task HoldOnlyLeasedAsync(bool alone, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stops the broker from pushing messages of <paramref name="queue"/> to this process and gives back those it pushed
    /// that nobody fetched yet (not counted as deliveries); messages already leased stay leased. A later fetch naming the
    /// queue consumes it again. For a worker's <c>cancel_consumer</c>: without it, the pushed messages of a queue nobody
    /// fetches any more would sit in this process and hold the prefetch window that the other queues need.
    /// </summary>
    Task StopConsumingAsync(string queue, CancellationToken cancellationToken = default);
}
