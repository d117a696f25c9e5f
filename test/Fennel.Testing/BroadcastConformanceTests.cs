using System.Text;
using System.Threading.Channels;
using Fennel.Transport;
using Xunit;

namespace Fennel.Testing;

/// <summary>
/// The behaviour every <see cref="IBroadcastTransport"/> shares, on kombu's three kinds of exchange: topic (events),
/// fanout (<c>celery.pidbox</c>) and direct (<c>reply.celery.pidbox</c>). A transport's test project subclasses this
/// and supplies a fresh broker.
/// </summary>
/// <remarks>
/// Tests may share a broker with other tests: topic tests use an exchange of their own, and every payload starts with a
/// nonce of the test, so what other tests broadcast on <c>celery.pidbox</c> is ignored. Where a test checks that a
/// subscriber got nothing, it first waits for a later message to reach it (delivery is in order) or for another
/// subscriber to get the same message, then allows a short grace period.
/// </remarks>
public abstract class BroadcastConformanceTests : IAsyncLifetime
{
    /// <summary>How long a message that should arrive may take: generous, since machines under load are slow.</summary>
    protected static readonly TimeSpan ArrivalWait = TimeSpan.FromSeconds(15);

    private const string Fanout = "celery.pidbox";
    private const string Direct = "reply.celery.pidbox";

    private readonly string _nonce = Guid.NewGuid().ToString("N");
    private ITransport? _transport;

    /// <summary>The broker under test.</summary>
    protected IBroadcastTransport Broadcast => _transport as IBroadcastTransport
        ?? throw new InvalidOperationException("The transport is created in InitializeAsync.");

    /// <summary>Creates a fresh broker for one test; it must implement <see cref="IBroadcastTransport"/>.</summary>
    protected abstract Task<ITransport> CreateTransportAsync();

    /// <inheritdoc />
    public virtual async Task InitializeAsync()
    {
        _transport = await CreateTransportAsync();
        Assert.True(_transport is IBroadcastTransport, "The transport does not implement IBroadcastTransport.");
        Assert.IsAssignableFrom<IBroadcastTransport>(_transport);
    }

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        if (_transport is not null) await _transport.DisposeAsync();
    }

    /// <summary>The body to broadcast for <paramref name="payload"/>. Transports that carry kombu envelopes (AMQP) wrap it.</summary>
    protected virtual byte[] Body(byte[] payload) => payload;

    /// <summary>The payload a received body made by <see cref="Body"/> carries.</summary>
    protected virtual byte[] Payload(ReadOnlyMemory<byte> body) => body.ToArray();

    /// <summary>A topic exchange no other test uses (any name but Celery's pidbox ones is a topic exchange).</summary>
    protected static string NewTopicExchange() => $"conformance.ev-{Guid.NewGuid():N}";

    [Fact]
    public async Task Topic_binding_hash_gets_everything_and_worker_hash_only_worker_events()
    {
        var exchange = NewTopicExchange();
        var all = new Inbox(this);
        var workers = new Inbox(this);
        await using var a = await Broadcast.SubscribeAsync(exchange, "#", all.Handle);
        await using var w = await Broadcast.SubscribeAsync(exchange, "worker.#", workers.Handle);

        await SendAsync(exchange, "task.started", "t1");
        await SendAsync(exchange, "worker.heartbeat", "w1");
        await SendAsync(exchange, "task.multi", "t2");
        await SendAsync(exchange, "worker.online", "w2");

        Assert.Equal(["t1", "w1", "t2", "w2"], await all.TakeAsync(4));
        var received = await workers.TakeMessagesAsync(2);
        Assert.Equal(["w1", "w2"], received.Select(m => m.Text));
        Assert.Equal(["worker.heartbeat", "worker.online"], received.Select(m => m.Message.RoutingKey));
        Assert.All(received, m => Assert.Equal(exchange, m.Message.Exchange));
        await workers.AssertNextIsMarkerAsync(marker => SendAsync(exchange, "worker.marker", marker));
    }

    [Fact]
    public async Task Fanout_reaches_every_subscriber()
    {
        var first = new Inbox(this);
        var second = new Inbox(this);
        await using var a = await Broadcast.SubscribeAsync(Fanout, "", first.Handle, subscriberName: $"first-{_nonce}@conformance");
        await using var b = await Broadcast.SubscribeAsync(Fanout, "", second.Handle);

        await SendAsync(Fanout, "", "ping");
        await SendAsync(Fanout, "", "stats");

        Assert.Equal(["ping", "stats"], await first.TakeAsync(2));
        var received = await second.TakeMessagesAsync(2);
        Assert.Equal(["ping", "stats"], received.Select(m => m.Text));
        Assert.All(received, m => Assert.Equal(Fanout, m.Message.Exchange));
    }

    [Fact]
    public async Task Direct_reply_reaches_only_the_subscriber_bound_with_its_key()
    {
        var keyA = Guid.NewGuid().ToString();
        var keyB = Guid.NewGuid().ToString();
        var a = new Inbox(this);
        var b = new Inbox(this);
        await using var subscriptionA = await Broadcast.SubscribeAsync(Direct, keyA, a.Handle);
        await using var subscriptionB = await Broadcast.SubscribeAsync(Direct, keyB, b.Handle);

        await SendAsync(Direct, keyA, "for-a");
        await SendAsync(Direct, keyB, "for-b");
        await SendAsync(Direct, Guid.NewGuid().ToString(), "for-nobody");
        await SendAsync(Direct, keyA, "for-a-again");

        var received = await a.TakeMessagesAsync(2);
        Assert.Equal(["for-a", "for-a-again"], received.Select(m => m.Text));
        Assert.All(received, m => Assert.Equal(keyA, m.Message.RoutingKey));
        Assert.Equal(["for-b"], await b.TakeAsync(1));
        await a.AssertNextIsMarkerAsync(marker => SendAsync(Direct, keyA, marker));
        await b.AssertNextIsMarkerAsync(marker => SendAsync(Direct, keyB, marker));
    }

    [Fact]
    public async Task A_throwing_handler_does_not_end_the_subscription()
    {
        var exchange = NewTopicExchange();
        var inbox = new Inbox(this);
        var calls = 0;
        await using var subscription = await Broadcast.SubscribeAsync(exchange, "#", async message =>
        {
            if (Interlocked.Increment(ref calls) == 1) throw new InvalidOperationException("The handler fails on its first message.");
            await inbox.Handle(message);
        });

        await SendAsync(exchange, "worker.heartbeat", "first");
        await SendAsync(exchange, "worker.heartbeat", "second");
        await SendAsync(exchange, "worker.heartbeat", "third");

        Assert.Equal(["second", "third"], await inbox.TakeAsync(2));
        Assert.Equal(3, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task Disposing_a_subscription_stops_its_delivery_promptly()
    {
        var exchange = NewTopicExchange();
        var stopped = new Inbox(this);
        var live = new Inbox(this);
        var subscription = await Broadcast.SubscribeAsync(exchange, "#", stopped.Handle);
        await using var other = await Broadcast.SubscribeAsync(exchange, "#", live.Handle);
        await SendAsync(exchange, "worker.online", "before");
        Assert.Equal(["before"], await stopped.TakeAsync(1));
        Assert.Equal(["before"], await live.TakeAsync(1));

        await subscription.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        await SendAsync(exchange, "worker.heartbeat", "after");

        // "after" reached the live subscription: the stopped one, had it still been delivering, would have it by now too.
        Assert.Equal(["after"], await live.TakeAsync(1));
        stopped.AssertNothingArrived();
    }

    [Fact]
    public async Task Messages_arrive_in_the_order_they_were_broadcast()
    {
        var exchange = NewTopicExchange();
        var inbox = new Inbox(this);
        await using var subscription = await Broadcast.SubscribeAsync(exchange, "task.#", inbox.Handle);
        var expected = Enumerable.Range(0, 100).Select(i => $"m{i:D3}").ToList();

        foreach (var text in expected) await SendAsync(exchange, "task.succeeded", text);

        Assert.Equal(expected, await inbox.TakeAsync(expected.Count));
    }

    [Fact]
    public async Task Handler_runs_for_one_message_at_a_time()
    {
        var exchange = NewTopicExchange();
        var inbox = new Inbox(this);
        var running = 0;
        var overlapped = false;
        await using var subscription = await Broadcast.SubscribeAsync(exchange, "#", async message =>
        {
            if (Interlocked.Increment(ref running) > 1) overlapped = true;
            await Task.Delay(20);
            Interlocked.Decrement(ref running);
            await inbox.Handle(message);
        });

        for (var i = 0; i < 5; i++) await SendAsync(exchange, "worker.heartbeat", $"h{i}");

        Assert.Equal(["h0", "h1", "h2", "h3", "h4"], await inbox.TakeAsync(5));
        Assert.False(overlapped, "The handler ran for two messages at once.");
    }

    [Fact]
    public async Task A_body_round_trips_byte_for_byte()
    {
        var exchange = NewTopicExchange();
        var key = Guid.NewGuid().ToString();
        var topic = new Inbox(this);
        var direct = new Inbox(this);
        await using var a = await Broadcast.SubscribeAsync(exchange, "#", topic.Handle);
        await using var b = await Broadcast.SubscribeAsync(Direct, key, direct.Handle);
        // Every byte value, invalid UTF-8 and a NUL included, after the test's nonce.
        byte[] payload = [.. Encoding.ASCII.GetBytes(_nonce + ":"), .. Enumerable.Range(0, 256).Select(i => (byte)i), 0xC3, 0x28, 0xFF, 0x00];

        await Broadcast.BroadcastAsync(exchange, "worker.heartbeat", Body(payload));
        await Broadcast.BroadcastAsync(Direct, key, Body(payload));

        Assert.Equal(payload, Payload((await topic.TakeMessagesAsync(1, raw: true))[0].Message.Body));
        Assert.Equal(payload, Payload((await direct.TakeMessagesAsync(1, raw: true))[0].Message.Body));
    }

    [Fact]
    public async Task Only_messages_broadcast_after_subscribing_arrive()
    {
        var exchange = NewTopicExchange();
        await SendAsync(exchange, "worker.online", "earlier");
        var inbox = new Inbox(this);
        await using var subscription = await Broadcast.SubscribeAsync(exchange, "#", inbox.Handle);

        await SendAsync(exchange, "worker.heartbeat", "later");

        Assert.Equal(["later"], await inbox.TakeAsync(1));
    }

    /// <summary>Broadcasts <paramref name="text"/>, prefixed with this test's nonce.</summary>
    protected Task SendAsync(string exchange, string routingKey, string text) =>
        Broadcast.BroadcastAsync(exchange, routingKey, Body(Encoding.UTF8.GetBytes($"{_nonce}:{text}")));

    /// <summary>A received message with the text it carries (null when it is not this test's).</summary>
    protected sealed record Received(BroadcastMessage Message, string? Text);

    /// <summary>Collects what a subscription receives; keeps only this test's messages.</summary>
    protected sealed class Inbox(BroadcastConformanceTests test)
    {
        private readonly Channel<BroadcastMessage> _messages = Channel.CreateUnbounded<BroadcastMessage>();

        /// <summary>The subscription's handler.</summary>
        public Task Handle(BroadcastMessage message) => _messages.Writer.WriteAsync(message).AsTask();

        /// <summary>The texts of the next <paramref name="count"/> messages of this test.</summary>
        public async Task<List<string>> TakeAsync(int count) => [.. (await TakeMessagesAsync(count)).Select(m => m.Text!)];

        /// <summary>The next <paramref name="count"/> messages of this test (any message when <paramref name="raw"/>).</summary>
        public async Task<List<Received>> TakeMessagesAsync(int count, bool raw = false)
        {
            using var timeout = new CancellationTokenSource(ArrivalWait);
            var taken = new List<Received>();
            while (taken.Count < count)
            {
                BroadcastMessage message;
                try
                {
                    message = await _messages.Reader.ReadAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"Received {taken.Count} of {count} messages within {ArrivalWait.TotalSeconds} s.");
                    throw;
                }
                var text = test.TextOf(message);
                if (raw || text is not null) taken.Add(new Received(message, text));
            }
            return taken;
        }

        /// <summary>
        /// Sends a marker through <paramref name="sendMarker"/> and fails unless the next message of this test is that
        /// marker: messages arrive in the order they were broadcast, so nothing unexpected came before it (no window to guess).
        /// </summary>
        public async Task AssertNextIsMarkerAsync(Func<string, Task> sendMarker)
        {
            ArgumentNullException.ThrowIfNull(sendMarker);
            var marker = $"marker-{Guid.NewGuid():N}";
            await sendMarker(marker);
            var next = Assert.Single(await TakeMessagesAsync(1));
            Assert.True(next.Text == marker, $"Unexpected message '{next.Text}' with routing key '{next.Message.RoutingKey}' before the marker.");
        }

        /// <summary>Fails if a message of this test has arrived, once a later message reached another subscription.</summary>
        public void AssertNothingArrived()
        {
            while (_messages.Reader.TryRead(out var message))
            {
                if (test.TextOf(message) is { } text) Assert.Fail($"Unexpected message '{text}' with routing key '{message.RoutingKey}'.");
            }
        }
    }

    private string? TextOf(BroadcastMessage message)
    {
        byte[] payload;
        try
        {
            payload = Payload(message.Body);
        }
#pragma warning disable CA1031 // Another test's or client's message in a format the payload reader does not know: not ours.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
        var text = Encoding.UTF8.GetString(payload);
        return text.StartsWith(_nonce + ":", StringComparison.Ordinal) ? text[(_nonce.Length + 1)..] : null;
    }
}
