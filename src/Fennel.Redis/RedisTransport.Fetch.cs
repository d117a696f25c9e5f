using System.Collections.Concurrent;
using Fennel.Transport;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>Fetching: one script call takes a batch and leases it; idle consumers wait for an announcement or poll.</summary>
public sealed partial class RedisTransport
{
    private readonly WakeUp _wakeUp = new();
    private readonly ConcurrentDictionary<string, Task> _listening = new(StringComparer.Ordinal);
    private int _rotation;

    /// <summary>
    /// Leases up to <paramref name="maxMessages"/> messages in one round trip: lists in kombu's order (priority step 0
    /// first — on Redis a lower priority number is served first — queues taking turns within a step).
    /// Idle, it waits for a Fennel publisher's announcement, a restore, or the next poll (<see cref="RedisOptions.PollInterval"/>).
    /// </summary>
    public async Task<IReadOnlyList<Delivery>> FetchAsync(IReadOnlyList<string> queues, int maxMessages, TimeSpan lease, TimeSpan wait,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queues);
        if (queues.Count == 0) throw new ArgumentException("Fetch needs at least one queue.", nameof(queues));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        var database = await DatabaseAsync().ConfigureAwait(false);
        await ListenAsync(queues).ConfigureAwait(false);
        StartRestoring();

        var deadline = _time.GetUtcNow() + wait;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var wakeUp = _wakeUp.Next;
            var fetched = await TakeAsync(database, queues, maxMessages, lease).ConfigureAwait(false);
            var remaining = deadline - _time.GetUtcNow();
            if (fetched.Count > 0 || remaining <= TimeSpan.Zero) return fetched;
            var poll = Options.PollInterval < remaining ? Options.PollInterval : remaining;
            await Task.WhenAny(wakeUp, Task.Delay(poll, _time, cancellationToken)).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<Delivery>> TakeAsync(IDatabase database, IReadOnlyList<string> queues, int maxMessages, TimeSpan lease)
    {
        // Queues take turns at the head of each priority step, as kombu rotates them.
        var first = queues.Count == 1 ? 0 : (int)((uint)Interlocked.Increment(ref _rotation) % (uint)queues.Count);
        var lists = new RedisKey[RedisKeys.PrioritySteps.Length * queues.Count];
        var listQueues = new RedisValue[lists.Length];
        var listSteps = new int[lists.Length];
        var n = 0;
        foreach (var step in RedisKeys.PrioritySteps)
        {
            for (var i = 0; i < queues.Count; i++)
            {
                var queue = queues[(first + i) % queues.Count];
                (lists[n], listQueues[n], listSteps[n]) = (RedisKeys.List(queue, step), queue, step);
                n++;
            }
        }

        // Unique per fetch, not secret: no cryptographic generator (it would load OpenSSL into every worker).
        var nonce = Random.Shared.NextInt64().ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        var now = _time.GetUtcNow();
        RedisValue[] arguments = [maxMessages, LeaseScore(now + lease), nonce, Format(UnixSeconds(now)), .. listQueues];
        var result = await _connection.Guard(database.ScriptEvaluateAsync(RedisScripts.Fetch, LeaseKeys(lists), arguments), "fetch").ConfigureAwait(false);

        var rows = (RedisResult[])result!;
        var deliveries = new List<Delivery>(rows.Length);
        foreach (var row in rows)
        {
            var fields = (RedisResult[])row!;
            var index = (int)fields[0] - 1;
            var body = (byte[])fields[1]!;
            var count = (int)fields[2];
            var queue = (string)listQueues[index]!;
            if (count == 0)
            {
                Log.MalformedMessageDeadLettered(_logger, queue, (string)fields[3]!, body.Length);
                continue;
            }
            deliveries.Add(new Delivery(queue, body, new RedisDeliveryTag(nonce, listSteps[index], (string)fields[3]!).ToString(), count));
        }
        return deliveries;
    }

    /// <summary>Subscribes (once per queue) to the announcements of Fennel publishers.</summary>
    private Task ListenAsync(IReadOnlyList<string> queues)
    {
        List<Task>? pending = null;
        foreach (var queue in queues)
        {
            var subscribed = _listening.GetOrAdd(queue, SubscribeReadyAsync);
            if (!subscribed.IsCompletedSuccessfully) (pending ??= []).Add(subscribed);
        }
        return pending is null ? Task.CompletedTask : ListenOrRetryAsync(pending, queues);
    }

    private async Task ListenOrRetryAsync(List<Task> pending, IReadOnlyList<string> queues)
    {
        try
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsRedis(e))
        {
            // Try again on the next fetch; polling still finds every message meanwhile.
            foreach (var queue in queues)
            {
                if (_listening.TryGetValue(queue, out var task) && task.IsFaulted) _listening.TryRemove(queue, out _);
            }
            throw RedisErrors.Wrap(e, _connection.Endpoint, "subscribe to announcements");
        }
    }

    private async Task SubscribeReadyAsync(string queue)
    {
        var multiplexer = await _connection.GetAsync().ConfigureAwait(false);
        await multiplexer.GetSubscriber().SubscribeAsync(_keys.Ready(queue), OnReady).ConfigureAwait(false);
    }

    private void OnReady(RedisChannel channel, RedisValue value) => _wakeUp.Fire();

    private async Task UnsubscribeReadyAsync()
    {
        if (_listening.IsEmpty || !_connection.GetAsync().IsCompletedSuccessfully) return;
        var subscriber = (await _connection.GetAsync().ConfigureAwait(false)).GetSubscriber();
        foreach (var queue in _listening.Keys)
        {
            try
            {
                await subscriber.UnsubscribeAsync(_keys.Ready(queue), OnReady).ConfigureAwait(false);
            }
            catch (Exception e) when (RedisErrors.IsRedis(e))
            {
                // Closing anyway.
            }
        }
        _listening.Clear();
    }
}
