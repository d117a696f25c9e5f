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
}
