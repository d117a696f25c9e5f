using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Control;

/// <summary>
/// A worker's side of remote control: its pidbox subscription on <c>celery.pidbox</c> (on AMQP the queue
/// <c>&lt;node&gt;.celery.pidbox</c>), which requests are for it (destination, pattern, expiry), the command, and the reply
/// <c>{node: payload}</c> to the request's <c>reply_to</c> with its ticket and the clock.
/// </summary>
/// <remarks>
/// Requests are handled one at a time, in order. Every command answers at once: what takes long (a pool restart, a
/// shutdown) is started and runs on, so <c>ping</c> keeps answering meanwhile, as in Celery, whose <c>pool_restart</c>
/// answers <c>reload started</c>.
/// </remarks>
internal sealed class ControlServer : IAsyncDisposable
{
    private readonly Worker.Worker _worker;
    private readonly IBroadcastTransport _broadcast;
    private readonly Events.LamportClock _clock;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private IAsyncDisposable? _subscription;

    private ControlServer(Worker.Worker worker, IBroadcastTransport broadcast, Events.LamportClock clock, TimeProvider time, ILogger logger)
    {
        _worker = worker;
        _broadcast = broadcast;
        _clock = clock;
        _time = time;
        _logger = logger;
    }

    /// <summary>Subscribes the worker's pidbox; it handles requests until disposed.</summary>
    public static async Task<ControlServer> StartAsync(Worker.Worker worker, IBroadcastTransport broadcast, Events.LamportClock clock,
        TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var server = new ControlServer(worker, broadcast, clock, time, logger);
        server._subscription = await broadcast.SubscribeAsync(PidboxRequest.Exchange, "", server.OnMessageAsync, worker.Name, cancellationToken)
            .ConfigureAwait(false);
        Log.ControlListening(logger, worker.Name);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscription is { } subscription)
        {
            _subscription = null;
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Handles one message from the pidbox: never throws (a bad request is logged and dropped).</summary>
    internal async Task OnMessageAsync(BroadcastMessage message)
    {
        PidboxRequest request;
        try
        {
            request = PidboxRequest.Decode(message.Body.Span);
        }
        catch (MessageFormatException ex)
        {
            Log.ControlRequestMalformed(_logger, _worker.Name, ex.Message);
            return;
        }
        // As Celery's worker: the clock moves for the message received, and past the sender's.
        _clock.Forward();
        if (request.Clock > 0) _clock.Adjust(request.Clock);

        try
        {
            if (!NodeSelector.IsFor(request, _worker.Name)) return;
        }
        catch (ArgumentException ex)
        {
            Log.ControlBadPattern(_logger, _worker.Name, request.Method, request.Pattern ?? "", request.Matcher ?? "", ex.Message);
            return;
        }
        var requester = Requester(request);
        if (request.Expires is { } expires and > 0)
        {
            var now = _time.GetUtcNow();
            var at = DateTimeOffset.FromUnixTimeMilliseconds((long)(expires * 1000));
            if (now > at)
            {
                Log.ControlRequestExpired(_logger, _worker.Name, request.Method, requester, at, (now - at).TotalSeconds);
                return;
            }
        }

        JsonNode? payload;
        var context = new ControlContext(_worker, request.Arguments, requester, _logger);
        if (!ControlCommands.TryGet(request.Method, out var command))
        {
            Log.ControlUnknownMethod(_logger, _worker.Name, request.Method, requester);
            payload = ControlCommands.Error(new KeyError(request.Method));
        }
        else
        {
            try
            {
                payload = await command(context).ConfigureAwait(false);
            }
            catch (ControlArgumentException ex)
            {
                Log.ControlBadRequest(_logger, _worker.Name, request.Method, requester, ex.Message);
                payload = ControlCommands.Error(ex);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                Log.ControlBadRequest(_logger, _worker.Name, request.Method, requester, ex.Message);
                payload = ControlCommands.Error(ex);
            }
#pragma warning disable CA1031 // Any failure of a command becomes its error reply (kombu's {"error": repr(exc)}); the server goes on.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.ControlCommandFailed(_logger, _worker.Name, request.Method, requester, ex);
                payload = ControlCommands.Error(ex);
            }
        }
        if (!request.WantsReply || request.Method == "shutdown") return;
        try
        {
            var reply = new PidboxReply(_worker.Name, payload, request.Ticket, _clock.Forward());
            await _broadcast.BroadcastAsync(request.ReplyTo!.Exchange, request.ReplyTo.RoutingKey, reply.Encode(request.ReplyTo), CancellationToken.None)
                .ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A reply that cannot be sent is logged; the next request is served.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.ControlReplyFailed(_logger, _worker.Name, request.Method, requester, ex);
        }
    }

    private static string Requester(PidboxRequest request) =>
        request.Method == "hello" && request.Arguments["from_node"] is JsonValue v && v.TryGetValue(out string? node) ? "node " + node
        : request.ReplyTo is { } to ? "client " + to.RoutingKey
        : "a client that wants no reply";
}

/// <summary>What a command gets: the worker, the request's arguments, who asked.</summary>
internal sealed record ControlContext(Worker.Worker Worker, JsonObject Arguments, string Requester, ILogger Logger);

/// <summary>A missing or unusable argument: replied as Python's <c>TypeError</c>, as a Celery worker would.</summary>
internal sealed class ControlArgumentException(string message) : FennelException(message);

/// <summary>An unknown command: replied as kombu replies, <c>KeyError('name')</c>.</summary>
internal sealed class KeyError(string method) : FennelException(method);
