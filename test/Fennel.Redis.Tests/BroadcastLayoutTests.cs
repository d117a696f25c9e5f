using System.Text;
using System.Threading.Channels;
using Fennel.Testing;
using Fennel.Transport;
using StackExchange.Redis;

namespace Fennel.Redis.Tests;

/// <summary>Control replies on Redis are kombu's direct exchange: a binding set and one list per client, as Celery 5 writes them.</summary>
public sealed class BroadcastLayoutTests : IAsyncLifetime
{
    private const string Sep = "\u0006\u0016";
    private const string Replies = "reply.celery.pidbox";
    private static readonly RedisKey Bindings = "_kombu.binding." + Replies;
    private static readonly IDatabase Redis = RedisTestDatabase.Database;
    private readonly RedisTransport _transport = RedisTestDatabase.NewTransport();
    private readonly string _oid = Guid.NewGuid().ToString();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _transport.DisposeAsync();

    private string ReplyQueue => _oid + "." + Replies;

    private string Member => _oid + Sep + Sep + ReplyQueue;

    [Fact]
    public async Task A_reply_subscriber_binds_its_list_as_kombu_does_and_unbinds_and_deletes_it_on_dispose()
    {
        var subscription = await _transport.SubscribeAsync(Replies, _oid, _ => Task.CompletedTask);
        Assert.True(await Redis.SetContainsAsync(Bindings, Member));
        await Redis.ListLeftPushAsync(ReplyQueue + Sep + "9", "left over"); // kombu deletes every priority list of the queue

        await subscription.DisposeAsync();

        Assert.False(await Redis.SetContainsAsync(Bindings, Member));
        Assert.False(await Redis.KeyExistsAsync(ReplyQueue));
        Assert.False(await Redis.KeyExistsAsync(ReplyQueue + Sep + "9"));
    }

    [Fact]
    public async Task A_reply_Celery_pushed_reaches_the_subscriber_byte_for_byte()
    {
        var (oid, raw) = CapturedReply();
        var received = Channel.CreateUnbounded<BroadcastMessage>();
        await using var subscription = await _transport.SubscribeAsync(Replies, oid, m => received.Writer.WriteAsync(m).AsTask());

        // What the Celery worker did: LPUSH <oid>.reply.celery.pidbox <envelope>.
        await Redis.ListLeftPushAsync(oid + "." + Replies, raw);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var message = await received.Reader.ReadAsync(timeout.Token);
        Assert.Equal(raw, message.Body.ToArray());
        Assert.Equal(oid, message.RoutingKey);
        Assert.Equal(Replies, message.Exchange);
    }

    [Fact]
    public async Task A_reply_goes_to_the_list_a_Celery_client_bound_exactly_as_Celery_pushes_it()
    {
        var (oid, raw) = CapturedReply();
        oid += "-" + _oid; // not the captured one, so no other run's leftovers count
        // What the Celery client did before broadcasting its request.
        await Redis.SetAddAsync(Bindings, oid + Sep + Sep + oid + "." + Replies);
        await Redis.SetAddAsync(Bindings, _oid + Sep + Sep + ReplyQueue); // another client: must not get it
        try
        {
            await _transport.BroadcastAsync(Replies, oid, raw);

            Assert.Equal(raw, (byte[])(await Redis.ListRightPopAsync(oid + "." + Replies))!);
            Assert.False(await Redis.KeyExistsAsync(ReplyQueue));
        }
        finally
        {
            await Redis.SetRemoveAsync(Bindings, [oid + Sep + Sep + oid + "." + Replies, _oid + Sep + Sep + ReplyQueue]);
            await Redis.KeyDeleteAsync([oid + "." + Replies, ReplyQueue]);
        }
    }

    [Fact]
    public async Task A_reply_nobody_is_bound_for_is_not_stored()
    {
        await _transport.BroadcastAsync(Replies, _oid, KombuBodies.Wrap("nobody asked"));

        Assert.False(await Redis.KeyExistsAsync(ReplyQueue));
    }

    [Fact]
    public async Task A_reply_waits_in_the_list_for_a_subscriber_that_is_busy()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var busy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = Channel.CreateUnbounded<string>();
        await using var subscription = await _transport.SubscribeAsync(Replies, _oid, async m =>
        {
            busy.TrySetResult();
            await gate.Task;
            await received.Writer.WriteAsync(KombuBodies.Unwrap(m.Body));
        });

        await _transport.BroadcastAsync(Replies, _oid, KombuBodies.Wrap("one"));
        await _transport.BroadcastAsync(Replies, _oid, KombuBodies.Wrap("two"));
        await busy.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(1, await Redis.ListLengthAsync(ReplyQueue)); // "one" is with the handler, "two" waits on the server
        gate.SetResult();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        Assert.Equal("one", await received.Reader.ReadAsync(timeout.Token));
        Assert.Equal("two", await received.Reader.ReadAsync(timeout.Token));
    }

    [Fact]
    public async Task Control_requests_and_events_stay_on_pub_sub_channels()
    {
        // Other tests' workers share the database's channels (heartbeats): only this test's two messages count.
        var marker = Guid.NewGuid().ToString("N");
        var channels = Channel.CreateUnbounded<string>();
        var subscriber = RedisTestDatabase.Subscriber;
        var pattern = RedisChannel.Pattern($"/{RedisTestDatabase.Number}.*");
        await subscriber.SubscribeAsync(pattern, (channel, message) =>
        {
            if (((string?)message)?.Contains(marker, StringComparison.Ordinal) == true) channels.Writer.TryWrite(channel!);
        });
        try
        {
            await _transport.BroadcastAsync("celery.pidbox", "", KombuBodies.Wrap("ping", deliveryTag: marker));
            await _transport.BroadcastAsync("celeryev", "worker.heartbeat", KombuBodies.Wrap("beat", deliveryTag: marker));

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            Assert.Equal($"/{RedisTestDatabase.Number}.celery.pidbox", await channels.Reader.ReadAsync(timeout.Token));
            Assert.Equal($"/{RedisTestDatabase.Number}.celeryev/worker.heartbeat", await channels.Reader.ReadAsync(timeout.Token));
        }
        finally
        {
            await subscriber.UnsubscribeAsync(pattern);
        }
    }

    /// <summary>The first reply of the captured <c>celery inspect ping</c>: the client's oid and the envelope as pushed.</summary>
    private static (string Oid, byte[] Raw) CapturedReply()
    {
        var vector = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "control", "redis", "ping.json"));
        var reply = vector["exchanges"]![0]!["replies"]![0]!;
        var key = (string)reply["redis_key"]!;
        Assert.EndsWith("." + Replies, key, StringComparison.Ordinal);
        return (key[..^(Replies.Length + 1)], Encoding.UTF8.GetBytes((string)reply["raw"]!));
    }
}
