namespace Fennel.Transport;

/// <summary>
/// Fan-out messaging for events and remote control: every subscriber bound to an exchange receives what is broadcast to
/// it, nothing is stored, and nobody acknowledges. kombu's fan-out: Redis pub/sub, AMQP fanout and topic exchanges.
/// Transports that offer it have <see cref="TransportCapabilities.Broadcast"/>.
/// </summary>
public interface IBroadcastTransport
{
    /// <summary>Sends <paramref name="body"/> (a kombu envelope) to every current subscriber of the exchange and routing key.</summary>
    Task BroadcastAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default);

    /// <summary>
    /// Receives what is broadcast to <paramref name="exchange"/> with a routing key matching <paramref name="bindingKey"/>
    /// (AMQP topic syntax: <c>worker.#</c>, <c>#</c>; <c>""</c> for a fanout exchange) until the returned handle is disposed.
    /// The handler runs for one message at a time, in order.
    /// </summary>
    Task<IAsyncDisposable> SubscribeAsync(string exchange, string bindingKey, Func<BroadcastMessage, Task> handler,
        CancellationToken cancellationToken = default);
}

/// <summary>A broadcast message as received.</summary>
/// <param name="Exchange">The exchange it was broadcast to.</param>
/// <param name="RoutingKey">Its routing key (<c>""</c> on a fanout exchange).</param>
/// <param name="Body">The kombu envelope.</param>
public sealed record BroadcastMessage(string Exchange, string RoutingKey, ReadOnlyMemory<byte> Body);
