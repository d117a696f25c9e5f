using System.Text.Json.Nodes;
using Fennel.Events;
using Fennel.Protocol;
using Fennel.Python;
using Fennel.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;

namespace Fennel.Calling;

// Celery events on the client side: receiving them (the events command, the dashboard) and, when switched on, sending
// task-sent for each published task (Celery's task_send_sent_event).
public sealed partial class FennelClient
{
    private readonly Lock _sentEventsGate = new();
    private EventDispatcher? _sentEvents;
    private bool _sentEventsChecked;

    /// <summary>Where event trouble is logged (skipped events, failing handlers, dropped <c>task-sent</c> events).</summary>
    internal ILogger EventLogger { get; set; } = NullLogger.Instance;

    /// <summary>Send <c>task-sent</c> events (<see cref="Configuration.FennelOptions.TaskSentEvents"/>).</summary>
    internal bool TaskSentEvents { get; set; }

    /// <summary>
    /// Receives the Celery events broadcast on the broker's <c>celeryev</c> exchange — from Fennel and Python Celery
    /// workers and clients alike — until the returned handle is disposed. Single events and the <c>task.multi</c> batches
    /// workers send are both handed over one event at a time, in order. Each event's <c>clock</c> moves this process's
    /// <see cref="FennelApp.Clock"/> past it. A malformed event is logged with the reason and skipped; an exception from
    /// <paramref name="handler"/> is logged and the next event follows.
    /// </summary>
    /// <param name="handler">Called for each event, one at a time.</param>
    /// <param name="bindingKey">
    /// Which events, in AMQP topic syntax over the routing keys (<c>worker.heartbeat</c>, <c>task.multi</c>,
    /// <c>task.sent</c>): <c>#</c> for all (Flower's and <c>celery events</c>' choice), <c>worker.#</c> for worker events
    /// only. Task events from workers arrive as <c>task.multi</c>, so <c>task.#</c> selects all task events.
    /// </param>
    /// <param name="cancellationToken">Cancels subscribing.</param>
    /// <returns>A handle; disposing it stops receiving.</returns>
    /// <exception cref="FennelConfigurationException">The broker cannot broadcast, so it carries no events.</exception>
    public async Task<IAsyncDisposable> SubscribeEventsAsync(Func<CeleryEvent, Task> handler, string bindingKey = "#",
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentException.ThrowIfNullOrEmpty(bindingKey);
        var transport = _transport();
        if (transport is not IBroadcastTransport broadcast)
        {
            throw new FennelConfigurationException($"The broker {transport.GetType().Name} cannot broadcast, so it carries no Celery events; " +
                "receive events through a broker that can (Redis, RabbitMQ, SQLite or memory).");
        }
        return await broadcast.SubscribeAsync(EventEnvelope.Exchange, bindingKey, message => ReceiveEventsAsync(message, handler),
            subscriberName: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Decodes one broadcast message and hands its events over; never throws into the transport.</summary>
    private async Task ReceiveEventsAsync(BroadcastMessage message, Func<CeleryEvent, Task> handler)
    {
        // The usual message (a base64 JSON body of well-formed events) is read straight from its bytes; anything else
        // goes the general way below, which skips what is malformed with the reason.
        var fast = new List<CeleryEvent>();
        if (CeleryEventCodec.TryDecodeMessage(message.Body.Span, fast))
        {
            foreach (var e in fast) await HandleEventAsync(e, handler).ConfigureAwait(false);
            return;
        }
        JsonNode? body;
        try
        {
            body = KombuEnvelope.Decode(message.Body.Span).BodyJson();
        }
        catch (MessageFormatException ex)
        {
            Log.EventSkipped(EventLogger, message.RoutingKey, ex.Message);
            return;
        }
        // A batch is decoded item by item, so one bad event does not cost the rest of its batch.
        var items = body is JsonArray batch ? [.. batch] : new List<JsonNode?> { body };
        foreach (var item in items)
        {
            CeleryEvent e;
            try
            {
                e = item is JsonObject fields
                    ? CeleryEventCodec.DecodeEvent(fields)
                    : CeleryEventCodec.Decode(item).Single(); // throws with what the item is instead
            }
            catch (MessageFormatException ex)
            {
                Log.EventSkipped(EventLogger, message.RoutingKey, ex.Message);
                continue;
            }
            await HandleEventAsync(e, handler).ConfigureAwait(false);
        }
    }

    private async Task HandleEventAsync(CeleryEvent e, Func<CeleryEvent, Task> handler)
    {
        if (e.Clock is { } clock) Clock.Adjust(clock);
        try
        {
            await handler(e).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The handler is the caller's code: whatever it throws, the subscription goes on.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.EventHandlerFailed(EventLogger, e.Type, e.Hostname, ex);
        }
    }

    /// <summary>One <c>task-sent</c> event per published message, sent singly as Celery's client does.</summary>
    private void OnTasksSent(ITransport transport, IReadOnlyList<(TaskMessage Message, string Queue)> messages)
    {
        if (!TaskSentEvents) return;
        if (SentEventDispatcher(transport) is not { } events) return;
        foreach (var (message, queue) in messages)
        {
            // A task registered here hides its sensitive arguments even in a message built elsewhere (a retry of a
            // Python client's task keeps that client's argsrepr).
            var (args, kwargs) = _registry.TryGet(message.Task, out var task) && task.Redaction is { } redaction
                ? redaction.Repr(message.Args, message.Kwargs)
                : (message.ArgsRepr ?? PythonRepr.Args(message.Args), message.KwargsRepr ?? PythonRepr.Kwargs(message.Kwargs));
            events.Send(new TaskSentEvent
            {
                Hostname = Origin, Timestamp = 0, TaskId = message.Id,
                RootId = message.RootId, ParentId = message.ParentId, Name = message.Task,
                Args = args,
                Kwargs = kwargs,
                Retries = message.Retries,
                Eta = message.Eta is { } eta ? CeleryTime.Format(eta) : null,
                Expires = message.Expires is { } expires ? CeleryTime.Format(expires) : null,
                Queue = queue, Exchange = "", RoutingKey = queue,
            });
        }
    }

    private EventDispatcher? SentEventDispatcher(ITransport transport)
    {
        lock (_sentEventsGate)
        {
            if (_sentEventsChecked) return _sentEvents;
            _sentEventsChecked = true;
            if (transport is IBroadcastTransport broadcast)
            {
                _sentEvents = new EventDispatcher(broadcast, Origin, Clock, _time, EventLogger, batchTaskEvents: false);
            }
            else
            {
                Log.TaskSentEventsUnavailable(EventLogger, transport.GetType().Name);
            }
            return _sentEvents;
        }
    }

    /// <summary>Sends the <c>task-sent</c> events still buffered (within about a second); the app calls it when disposed.</summary>
    internal async ValueTask DisposeEventsAsync()
    {
        EventDispatcher? events;
        lock (_sentEventsGate)
        {
            events = _sentEvents;
            _sentEvents = null;
        }
        if (events is not null) await events.DisposeAsync().ConfigureAwait(false);
    }
}
