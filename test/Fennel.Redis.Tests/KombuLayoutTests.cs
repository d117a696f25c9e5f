using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Testing;
using Fennel.Transport;
using StackExchange.Redis;

namespace Fennel.Redis.Tests;

/// <summary>What the transport writes is kombu's layout, and what kombu writes the transport reads.</summary>
public sealed class KombuLayoutTests : IAsyncLifetime
{
    private const string Sep = "\u0006\u0016";
    private static readonly IDatabase Redis = RedisTestDatabase.Database;
    private readonly RedisTransport _transport = RedisTestDatabase.NewTransport();
    private readonly string _queue = "layout-" + Guid.NewGuid().ToString("N")[..8];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _transport.DisposeAsync();

    [Fact]
    public async Task Publish_pushes_to_the_priority_list_and_binds_the_queue_as_kombu_does()
    {
        foreach (var priority in new[] { 0, 2, 3, 5, 6, 8, 9 })
        {
            await _transport.PublishAsync(new OutgoingMessage(_queue, KombuBodies.Envelope($"p{priority}"), priority));
        }

        Assert.Equal(2, await Redis.ListLengthAsync(_queue));
        Assert.Equal(2, await Redis.ListLengthAsync(_queue + Sep + "3"));
        Assert.Equal(2, await Redis.ListLengthAsync(_queue + Sep + "6"));
        Assert.Equal(1, await Redis.ListLengthAsync(_queue + Sep + "9"));
        Assert.True(await Redis.SetContainsAsync("_kombu.binding." + _queue, _queue + Sep + Sep + _queue));
        // LPUSH: the oldest message is at the right, where kombu's BRPOP takes it.
        Assert.Equal("p0", KombuBodies.Unwrap((byte[])(await Redis.ListRightPopAsync(_queue))!));
    }

    [Fact]
    public async Task A_task_envelope_is_stored_exactly_as_encoded()
    {
        var message = new TaskMessage { Task = "tasks.add", Id = Guid.NewGuid().ToString(), Args = [2, 3] };
        var created = TaskEnvelope.Create(message, _queue, DateTimeOffset.UtcNow);
        var envelope = KombuEnvelope.Encode(created);

        await _transport.PublishAsync(new OutgoingMessage(_queue, created));

        var stored = (byte[])(await Redis.ListRightPopAsync(_queue))!;
        Assert.Equal(envelope, stored);
        var decoded = TaskEnvelope.Decode(stored);
        Assert.Equal("tasks.add", decoded.Message.Task);
        Assert.Equal(_queue, decoded.RoutingKey);
    }

    [Fact]
    public async Task Fetch_records_the_message_in_unacked_as_kombu_does_and_ack_removes_it()
    {
        var tag = Guid.NewGuid().ToString();
        await _transport.PublishAsync(new OutgoingMessage(_queue, KombuBodies.Envelope("held", tag)));
        var before = DateTimeOffset.UtcNow;

        var delivery = Assert.Single(await _transport.FetchAsync([_queue], 10, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5)));

        // unacked: tag -> [envelope, exchange, routing_key]; the envelope is the very text that was in the list.
        var entry = JsonNode.Parse((string)(await Redis.HashGetAsync("unacked", tag))!)!.AsArray();
        Assert.Equal(JsonNode.Parse(delivery.Body.Span)!.ToJsonString(), entry[0]!.ToJsonString());
        Assert.Equal("", (string?)entry[1]);
        Assert.Equal(_queue, (string?)entry[2]);
        // unacked_index: scored so that kombu's rule (score < now - visibility_timeout) restores it when the lease ends.
        var score = (await Redis.SortedSetScoreAsync("unacked_index", tag))!.Value;
        var leaseEnd = DateTimeOffset.FromUnixTimeMilliseconds((long)((score + 3600) * 1000));
        Assert.InRange(leaseEnd, before.AddSeconds(59), DateTimeOffset.UtcNow.AddSeconds(61));

        await _transport.AckAsync(delivery);

        Assert.False(await Redis.HashExistsAsync("unacked", tag));
        Assert.Null(await Redis.SortedSetScoreAsync("unacked_index", tag));
        Assert.False(await Redis.HashExistsAsync("_fennel.leases", tag));
    }

    [Fact]
    public async Task A_message_captured_from_celery_is_fetched_and_decoded()
    {
        var vector = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "redis", "task_add.json"));
        var raw = (string)vector["messages"]![0]!["raw"]!;
        await Redis.ListLeftPushAsync(_queue, raw);

        var delivery = Assert.Single(await _transport.FetchAsync([_queue], 10, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5)));

        Assert.Equal(raw, Encoding.UTF8.GetString(delivery.Body.Span));
        var envelope = TaskEnvelope.Decode(delivery.Body.Span);
        Assert.Equal("tasks.add", envelope.Message.Task);
        Assert.Equal(1, delivery.DeliveryCount);
        await _transport.AckAsync(delivery);
    }

    [Fact]
    public async Task A_lapsed_kombu_entry_is_restored_to_its_queue_and_counts_as_a_redelivery()
    {
        // What a Python worker leaves behind when it dies holding a message: kombu's entry, scored when it was fetched.
        var tag = Guid.NewGuid().ToString();
        var envelope = Encoding.UTF8.GetString(KombuBodies.Wrap("orphan", tag));
        await Redis.HashSetAsync("unacked", tag, $"[{envelope}, \"\", \"{_queue}\"]");
        await Redis.SortedSetAddAsync("unacked_index", tag, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3700);

        var delivery = Assert.Single(await _transport.FetchAsync([_queue], 10, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(10)));

        Assert.Equal("orphan", KombuBodies.Unwrap(delivery.Body));
        Assert.Equal(2, delivery.DeliveryCount);
        await _transport.AckAsync(delivery);
    }

    [Fact]
    public async Task A_lapsed_entry_that_cannot_be_restored_is_dead_lettered_not_dropped()
    {
        var tag = Guid.NewGuid().ToString();
        await Redis.HashSetAsync("unacked", tag, "[\"not an envelope\"]");
        await Redis.SortedSetAddAsync("unacked_index", tag, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3700);

        await _transport.FetchAsync([_queue], 1, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1.5));

        Assert.False(await Redis.HashExistsAsync("unacked", tag));
        var letter = Assert.Single(await _transport.ListDeadLettersAsync(1000), d => d.Reason.Contains("cannot be restored", StringComparison.Ordinal)
            && Encoding.UTF8.GetString(d.Body.Span).Contains("not an envelope", StringComparison.Ordinal));
        Assert.True(await _transport.PurgeDeadLettersAsync() >= 1);
        Assert.NotNull(letter);
    }

    [Fact]
    public async Task A_kombu_entry_still_within_the_visibility_timeout_is_left_alone()
    {
        var tag = Guid.NewGuid().ToString();
        var envelope = Encoding.UTF8.GetString(KombuBodies.Wrap("busy", tag));
        await Redis.HashSetAsync("unacked", tag, $"[{envelope}, \"\", \"{_queue}\"]");
        await Redis.SortedSetAddAsync("unacked_index", tag, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60);

        Assert.Empty(await _transport.FetchAsync([_queue], 10, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1.5)));

        Assert.True(await Redis.HashExistsAsync("unacked", tag));
        await Redis.HashDeleteAsync("unacked", tag);
        await Redis.SortedSetRemoveAsync("unacked_index", tag);
    }

    [Fact]
    public async Task An_eta_message_is_published_to_its_queue_as_celery_does()
    {
        await _transport.PublishAsync(new OutgoingMessage(_queue, KombuBodies.Envelope("eta"), NotBefore: DateTimeOffset.UtcNow.AddMinutes(5)));

        // A Python worker finds it at once and holds it until due, as Celery does; a Fennel worker parks it.
        Assert.Equal(1, await Redis.ListLengthAsync(_queue));
        Assert.False(_transport.Capabilities.HasFlag(TransportCapabilities.DelayedPublish));
    }

    [Fact]
    public async Task A_parked_message_waits_in_unacked_where_kombu_restores_it_when_due()
    {
        var tag = Guid.NewGuid().ToString();
        await _transport.PublishAsync(new OutgoingMessage(_queue, KombuBodies.Envelope("later", tag)));
        var fetched = Assert.Single(await _transport.FetchAsync([_queue], 10, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5)));
        var due = DateTimeOffset.UtcNow.AddSeconds(2);

        await _transport.ReleaseAsync(fetched, due);

        Assert.Equal(0, await Redis.ListLengthAsync(_queue));
        Assert.True(await Redis.HashExistsAsync("unacked", tag));
        var score = (await Redis.SortedSetScoreAsync("unacked_index", tag))!.Value;
        Assert.Equal(due.ToUnixTimeMilliseconds() / 1000.0 - 3600, score, 0.01);
        Assert.Equal(1, await _transport.GetQueueLengthAsync(_queue));

        var delivery = Assert.Single(await _transport.FetchAsync([_queue], 10, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(15)));
        Assert.True(DateTimeOffset.UtcNow >= due.AddMilliseconds(-50));
        Assert.Equal(1, delivery.DeliveryCount);
        await _transport.AckAsync(delivery);
    }

    [Fact]
    public async Task A_message_that_is_not_a_kombu_envelope_is_dead_lettered_unchanged()
    {
        await Redis.ListLeftPushAsync(_queue, "{not json");
        await _transport.PublishAsync(new OutgoingMessage(_queue, KombuBodies.Envelope("fine")));

        var delivery = Assert.Single(await _transport.FetchAsync([_queue], 10, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5)));

        Assert.Equal("fine", KombuBodies.Unwrap(delivery.Body));
        var letter = Assert.Single(await _transport.ListDeadLettersAsync(1000), d => d.Queue == _queue);
        Assert.Equal("{not json", Encoding.UTF8.GetString(letter.Body.Span));
        Assert.Contains("not a kombu message", letter.Reason, StringComparison.Ordinal);
        await _transport.AckAsync(delivery);
    }

    [Fact]
    public async Task Broadcast_uses_kombus_fanout_channels()
    {
        // Other tests' workers send events on the same database's channels: only this test's two messages count.
        var marker = Guid.NewGuid().ToString("N");
        var received = new TaskCompletionSource<BroadcastMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var raw = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await RedisTestDatabase.Subscriber.SubscribeAsync(RedisChannel.Pattern($"/{RedisTestDatabase.Number}.celeryev/*"), (channel, value) =>
        {
            if (Ours((byte[])value!)) raw.TrySetResult(channel!);
        });
        await using var subscription = await _transport.SubscribeAsync("celeryev", "worker.#", m =>
        {
            if (Ours(m.Body)) received.TrySetResult(m);
            return Task.CompletedTask;
        });

        await _transport.BroadcastAsync("celeryev", "task.multi", KombuBodies.Wrap("not for worker.# " + marker));
        await _transport.BroadcastAsync("celeryev", "worker.heartbeat", KombuBodies.Wrap("beat " + marker));

        var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("worker.heartbeat", message.RoutingKey);
        Assert.Equal("beat " + marker, KombuBodies.Unwrap(message.Body));
        Assert.Equal($"/{RedisTestDatabase.Number}.celeryev/task.multi", await raw.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        bool Ours(ReadOnlyMemory<byte> envelope)
        {
            try
            {
                return KombuBodies.Unwrap(envelope).EndsWith(marker, StringComparison.Ordinal);
            }
            catch (Exception ex) when (ex is MessageFormatException or FormatException or System.Text.Json.JsonException or InvalidOperationException)
            {
                return false; // another sender's message in a form this helper does not read
            }
        }
    }

    [Fact]
    public async Task Broadcast_without_routing_key_uses_the_bare_exchange_channel()
    {
        var received = new TaskCompletionSource<BroadcastMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var raw = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await RedisTestDatabase.Subscriber.SubscribeAsync(RedisChannel.Literal($"/{RedisTestDatabase.Number}.celery.pidbox"),
            (channel, _) => raw.TrySetResult(channel!));
        await using var subscription = await _transport.SubscribeAsync("celery.pidbox", "", m =>
        {
            received.TrySetResult(m);
            return Task.CompletedTask;
        });

        await _transport.BroadcastAsync("celery.pidbox", "", KombuBodies.Wrap("ping"));

        Assert.Equal("", (await received.Task.WaitAsync(TimeSpan.FromSeconds(10))).RoutingKey);
        Assert.Equal($"/{RedisTestDatabase.Number}.celery.pidbox", await raw.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
