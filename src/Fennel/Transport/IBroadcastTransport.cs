namespace Fennel.Transport;

/// <summary>
/// Fan-out messaging for events and remote control, on kombu's three kinds of exchange: nothing is stored for long and
/// nobody acknowledges. Transports that offer it implement this interface.
/// </summary>
/// <remarks>
/// The exchanges Celery uses, and what a subscriber receives from each:
/// <list type="bullet">
/// <item><c>celeryev</c> (topic): events; a subscriber gets what matches its binding key (<c>#</c>, <c>worker.#</c>).</item>
/// <item><c>celery.pidbox</c> (fanout): control requests; every subscriber gets every message.</item>
/// <item><c>reply.celery.pidbox</c> (direct): control replies; only the subscriber bound with exactly the routing key
/// gets it. A reply waits for its subscriber briefly where the broker keeps it (a list on Redis, a queue on AMQP).</item>
/// </list>
/// Other exchange names are treated as topic exchanges.
/// </remarks>
public interface IBroadcastTransport
{
    /// <summary>Sends <paramref name="body"/> (a kombu envelope) to every current subscriber of the exchange whose binding matches the routing key.</summary>
    Task BroadcastAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default);

    /// <summary>
    /// Receives what is broadcast to <paramref name="exchange"/> with a routing key matching <paramref name="bindingKey"/>
    /// (AMQP topic syntax: <c>worker.#</c>, <c>#</c>; <c>""</c> for a fanout exchange; the exact key for a direct one)
    /// until the returned handle is disposed. The handler runs for one message at a time, in order.
    /// </summary>
    /// <param name="exchange">The exchange.</param>
    /// <param name="bindingKey">What to receive.</param>
    /// <param name="handler">Called for each message; an exception is logged and the next message follows.</param>
    /// <param name="subscriberName">
    /// Names the subscriber where the broker keeps a queue for it: a worker's pidbox queue on AMQP is
    /// <c>&lt;node name&gt;.celery.pidbox</c>, as Celery names it. Null for an anonymous subscriber.
    /// </param>
    /// <param name="cancellationToken">Stops subscribing.</param>
    Task<IAsyncDisposable> SubscribeAsync(string exchange, string bindingKey, Func<BroadcastMessage, Task> handler,
        string? subscriberName = null, CancellationToken cancellationToken = default);
}

/// <summary>A broadcast message as received.</summary>
/// <param name="Exchange">The exchange it was broadcast to.</param>
/// <param name="RoutingKey">Its routing key (<c>""</c> on a fanout exchange).</param>
/// <param name="Body">The kombu envelope.</param>
public sealed record BroadcastMessage(string Exchange, string RoutingKey, ReadOnlyMemory<byte> Body);
