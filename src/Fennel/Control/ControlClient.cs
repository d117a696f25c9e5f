using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Fennel.Events;
using Fennel.Protocol;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Control;

/// <summary>
/// Celery's remote control from the sending side (<c>app.control</c>): broadcasts a command on <c>celery.pidbox</c> to
/// every worker (or those named) — Fennel's and Celery's alike — and collects their replies. Reached as
/// <c>app.Client.Control</c>; the <c>fennel inspect</c> and <c>fennel control</c> commands are built on it.
/// </summary>
/// <remarks>
/// Replies come back on <c>reply.celery.pidbox</c> routed by this client's <see cref="Oid"/>: the client subscribes
/// before sending, and shares one subscription among the requests it has in flight. Every request moves the process's
/// Lamport clock forward, and every reply's clock moves it past the replier's.
/// </remarks>
public sealed class ControlClient
{
    /// <summary>How long a request without replies stays valid: long enough for clock skew between sender and workers.</summary>
    internal static readonly TimeSpan CastLifetime = TimeSpan.FromMinutes(1);

    private readonly Func<ITransport> _transport;
    private readonly LamportClock _clock;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _inboxGate = new(1, 1);
    private readonly ConcurrentDictionary<string, Channel<PidboxReply>> _pending = new(StringComparer.Ordinal);
    private IAsyncDisposable? _inbox;
    private int _users;

    internal ControlClient(Func<ITransport> transport, LamportClock clock, TimeProvider time, ILogger logger)
    {
        _transport = transport;
        _clock = clock;
        _time = time;
        _logger = logger;
    }

    /// <summary>This client's id: the routing key of its replies (kombu's <c>oid</c>), a uuid.</summary>
    internal string Oid { get; } = Guid.NewGuid().ToString();

    /// <summary>
    /// Sends a command that wants replies (<c>ping</c>, <c>stats</c>, <c>rate_limit</c>, ...) and collects them until
    /// <see cref="ControlRequestOptions.Timeout"/> has passed or <see cref="ControlRequestOptions.Limit"/> replies came.
    /// </summary>
    /// <param name="method">The command, by Celery's name.</param>
    /// <param name="arguments">Its arguments, by Celery's names (<c>{"task_name": "tasks.add", "rate_limit": "10/m"}</c>).</param>
    /// <param name="options">Destination, timeout and limit.</param>
    /// <param name="cancellationToken">Stops waiting; the replies so far are not returned.</param>
    /// <returns>The replies in arrival order, one per node that answered in time (none when nobody did).</returns>
    /// <exception cref="FennelConfigurationException">The broker cannot broadcast (it does not implement <see cref="IBroadcastTransport"/>).</exception>
    public async Task<IReadOnlyList<ControlReply>> RequestAsync(string method, JsonObject? arguments = null, ControlRequestOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        options ??= new ControlRequestOptions();
        if (options.Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), options.Timeout, "The reply timeout must be positive.");
        if (options.Limit is < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Limit, "The reply limit must be at least 1.");
        var broadcast = Broadcast(method);
        var destination = options.Destination is { Count: > 0 } d ? d : null;
        var limit = options.Limit ?? destination?.Count;
        var ticket = Guid.NewGuid().ToString();
        var inbox = Channel.CreateUnbounded<PidboxReply>(new UnboundedChannelOptions { SingleReader = true });
        _pending[ticket] = inbox;
        try
        {
            await OpenInboxAsync(broadcast, cancellationToken).ConfigureAwait(false);
            try
            {
                var request = new PidboxRequest(method, arguments ?? [])
                {
                    Destination = destination,
                    Ticket = ticket,
                    ReplyTo = new PidboxAddress(PidboxRequest.ReplyExchange, Oid),
                    Clock = _clock.Forward(),
                    Expires = (_time.GetUtcNow() + options.Timeout).ToUnixTimeMilliseconds() / 1000.0,
                };
                await broadcast.BroadcastAsync(PidboxRequest.Exchange, "", request.Encode(), cancellationToken).ConfigureAwait(false);
                return await CollectAsync(inbox.Reader, options.Timeout, limit, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await CloseInboxAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _pending.TryRemove(ticket, out _);
        }
    }

    /// <summary>
    /// Sends a command that wants no reply (<c>shutdown</c>; <c>revoke</c> as Celery sends it). Completes when the broker
    /// took it; workers that are not running now never see it.
    /// </summary>
    /// <param name="method">The command, by Celery's name.</param>
    /// <param name="arguments">Its arguments, by Celery's names.</param>
    /// <param name="destination">The nodes it is for; null or empty for all.</param>
    /// <param name="cancellationToken">Stops sending.</param>
    /// <exception cref="FennelConfigurationException">The broker cannot broadcast (it does not implement <see cref="IBroadcastTransport"/>).</exception>
    public Task SendAsync(string method, JsonObject? arguments = null, IReadOnlyList<string>? destination = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        return SendAsync(new PidboxRequest(method, arguments ?? []) { Destination = destination is { Count: > 0 } ? destination : null }, cancellationToken);
    }

    /// <summary>Sends a built request without waiting for replies (stamping its clock and expiry).</summary>
    internal Task SendAsync(PidboxRequest request, CancellationToken cancellationToken = default)
    {
        var broadcast = Broadcast(request.Method);
        var stamped = request with
        {
            Ticket = null,
            ReplyTo = null,
            Clock = _clock.Forward(),
            Expires = (_time.GetUtcNow() + CastLifetime).ToUnixTimeMilliseconds() / 1000.0,
        };
        return broadcast.BroadcastAsync(PidboxRequest.Exchange, "", stamped.Encode(), cancellationToken);
    }

    private IBroadcastTransport Broadcast(string method)
    {
        var transport = _transport();
        return transport is IBroadcastTransport broadcast
            ? broadcast
            : throw new FennelConfigurationException(
                $"Cannot send the remote-control command '{method}': the broker {transport.GetType().Name} cannot broadcast. " +
                "Remote control needs a broker with broadcast (amqp://, redis://, sqlite://, or memory:// within one process).");
    }

    private async Task<IReadOnlyList<ControlReply>> CollectAsync(ChannelReader<PidboxReply> inbox, TimeSpan timeout, int? limit,
        CancellationToken cancellationToken)
    {
        var replies = new List<ControlReply>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (limit is null || replies.Count < limit)
            {
                var reply = await inbox.ReadAsync(deadline.Token).ConfigureAwait(false);
                replies.Add(new ControlReply(reply.Node, reply.Payload));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The timeout: what came is the answer.
        }
        return replies;
    }

    private async Task OpenInboxAsync(IBroadcastTransport broadcast, CancellationToken cancellationToken)
    {
        await _inboxGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _inbox ??= await broadcast.SubscribeAsync(PidboxRequest.ReplyExchange, Oid, OnReplyAsync, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            _users++;
        }
        finally
        {
            _inboxGate.Release();
        }
    }

    private async Task CloseInboxAsync()
    {
        await _inboxGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (--_users > 0 || _inbox is null) return;
            var inbox = _inbox;
            _inbox = null;
            await inbox.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _inboxGate.Release();
        }
    }

    private Task OnReplyAsync(BroadcastMessage message)
    {
        IReadOnlyList<PidboxReply> replies;
        try
        {
            replies = PidboxReply.Decode(message.Body.Span);
        }
        catch (MessageFormatException ex)
        {
            Log.ControlReplyMalformed(_logger, ex.Message);
            return Task.CompletedTask;
        }
        foreach (var reply in replies)
        {
            if (reply.Clock > 0) _clock.Adjust(reply.Clock);
            // kombu: a reply without a ticket header belongs to the request being collected.
            if (reply.Ticket is null)
            {
                foreach (var pending in _pending.Values) pending.Writer.TryWrite(reply);
            }
            else if (_pending.TryGetValue(reply.Ticket, out var inbox))
            {
                inbox.Writer.TryWrite(reply);
            }
        }
        return Task.CompletedTask;
    }
}

/// <summary>Where a remote-control request goes and how long its sender waits for replies.</summary>
public sealed record ControlRequestOptions
{
    /// <summary>The node names it is for (<c>celery@host</c>). <value>Default: null, every node.</value></summary>
    public IReadOnlyList<string>? Destination { get; init; }

    /// <summary>How long replies are collected (and how long the request stays valid). <value>Default: 1 second, as Celery.</value></summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Stop collecting after this many replies. <value>Default: the number of destination nodes when there are some, else
    /// no limit (the timeout ends the wait).</value>
    /// </summary>
    public int? Limit { get; init; }
}

/// <summary>One node's reply to a remote-control request.</summary>
/// <param name="Node">The node name, e.g. <c>celery@host</c>.</param>
/// <param name="Payload">What it answered, as Celery shapes it: <c>{"ok": "pong"}</c>, <c>{"error": "..."}</c>, a list, an object.</param>
public sealed record ControlReply(string Node, JsonNode? Payload);
