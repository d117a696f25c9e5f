using System.Text.Json;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// Bringing messages back: a consumer that fetched once keeps restoring <c>unacked</c> entries whose score has lapsed —
/// leases of lost consumers (Fennel or Python) and parked ETA messages that are due — to the consuming end of their
/// queue, as kombu's <c>restore_visible</c> does, one atomic script per message so two restorers never both succeed.
/// </summary>
public sealed partial class RedisTransport
{
    private const int RestoreBatch = 200;
    private static readonly TimeSpan MaxRestorePause = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MinRestorePause = TimeSpan.FromMilliseconds(10);

    private readonly Lock _restorerGate = new();
    private Task? _restorer;

    private void StartRestoring()
    {
        if (_restorer is not null) return;
        lock (_restorerGate)
        {
            _restorer ??= Task.Run(RestoreLoopAsync);
        }
    }

    private async Task RestoreLoopAsync()
    {
        var stop = _disposing.Token;
        while (!stop.IsCancellationRequested)
        {
            TimeSpan pause;
            try
            {
                (var restored, pause) = await RestoreLapsedAsync().ConfigureAwait(false);
                if (restored > 0) _wakeUp.Fire();
            }
            catch (Exception) when (stop.IsCancellationRequested || IsDisposed)
            {
                return; // disposing: the transport closed under this pass (ObjectDisposedException, a cancelled call)
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.RestoreFailed(_logger, _connection.Endpoint, e);
                pause = MaxRestorePause;
            }
            if (pause > TimeSpan.Zero)
            {
                try { await Task.Delay(pause, _time, stop).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Restores one batch; returns how many, and how long to pause before the next pass.</summary>
    internal async Task<(int Restored, TimeSpan Pause)> RestoreLapsedAsync()
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        var now = UnixSeconds(_time.GetUtcNow());
        var ceiling = now - Options.VisibilityTimeout.TotalSeconds;
        var lapsed = await _connection.Guard(database.SortedSetRangeByScoreAsync(RedisKeys.UnackedIndex, double.NegativeInfinity, ceiling, take: RestoreBatch),
            "look for lapsed leases").ConfigureAwait(false);
        if (lapsed.Length == 0)
        {
            var next = await _connection.Guard(database.SortedSetRangeByRankWithScoresAsync(RedisKeys.UnackedIndex, 0, 0), "look for lapsed leases")
                .ConfigureAwait(false);
            var untilNext = next.Length == 0 ? MaxRestorePause : TimeSpan.FromSeconds(next[0].Score - ceiling);
            return (0, untilNext > MaxRestorePause ? MaxRestorePause : untilNext < MinRestorePause ? MinRestorePause : untilNext);
        }

        var entries = await _connection.Guard(database.HashGetAsync(RedisKeys.Unacked, lapsed), "read lapsed messages").ConfigureAwait(false);
        var restores = new List<Task<RedisResult>>(lapsed.Length);
        var queues = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lapsed.Length; i++)
        {
            var tag = (string)lapsed[i]!;
            if (entries[i].IsNull)
            {
                restores.Add(database.ScriptEvaluateAsync(RedisScripts.Restore, LeaseKeys(RedisKeys.Delayed("")), [tag, Format(ceiling), ""]));
                continue;
            }
            if (!TryReadUnacked(entries[i]!, out var envelope, out var exchange, out var routingKey, out var priority))
            {
                restores.Add(DeadLetterLapsedAsync(database, tag, entries[i]!, "", ceiling, now,
                    "kombu's unacked entry is not [envelope, exchange, routing_key]; it cannot be restored"));
                continue;
            }
            var targets = exchange.Length == 0 ? [routingKey] : await BoundQueuesAsync(database, exchange, routingKey).ConfigureAwait(false);
            if (targets.Count == 0)
            {
                restores.Add(DeadLetterLapsedAsync(database, tag, envelope, routingKey, ceiling, now,
                    $"no queue is bound to exchange '{exchange}' with routing key '{routingKey}'; it cannot be restored"));
                continue;
            }
            queues.UnionWith(targets);
            var step = RedisKeys.StepOf(priority);
            restores.Add(database.ScriptEvaluateAsync(RedisScripts.Restore,
                LeaseKeys([RedisKeys.Delayed(targets[0]), .. targets.Select(q => RedisKeys.List(q, step))]), [tag, Format(ceiling), envelope]));
        }
        var results = await _connection.Guard(Task.WhenAll(restores), "restore lapsed messages").ConfigureAwait(false);
        var restored = results.Count(r => (int)r == 1);
        if (restored > 0)
        {
            Log.Restored(_logger, restored, _connection.Endpoint);
            foreach (var queue in queues) _ = database.PublishAsync(_keys.Ready(queue), RedisValue.EmptyString, CommandFlags.FireAndForget);
        }
        return (restored, lapsed.Length == RestoreBatch ? TimeSpan.Zero : MinRestorePause);
    }

    private Task<RedisResult> DeadLetterLapsedAsync(IDatabase database, string tag, string body, string queue, double ceiling, double now, string reason)
    {
        Log.LapsedMessageDeadLettered(_logger, tag, reason);
        var record = new DeadLetterRecord(Guid.NewGuid().ToString("N"), queue, body, reason, tag, 0, 1, now);
        return database.ScriptEvaluateAsync(RedisScripts.DeadLetter, LeaseKeys(),
            [tag, Format(ceiling), record.Id, JsonSerializer.Serialize(record, DeadLetterRecord.Json), Format(now), "lapsed"]);
    }

    /// <summary>Reads kombu's <c>[envelope, exchange, routing_key]</c>, keeping the envelope's text exactly as stored.</summary>
    private static bool TryReadUnacked(byte[] entry, out string envelope, out string exchange, out string routingKey, out int priority)
    {
        (envelope, exchange, routingKey, priority) = ("", "", "", 0);
        try
        {
            using var document = JsonDocument.Parse(entry);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array || root.GetArrayLength() < 3 || root[0].ValueKind != JsonValueKind.Object) return false;
            envelope = root[0].GetRawText();
            exchange = root[1].GetString() ?? "";
            routingKey = root[2].GetString() ?? "";
            if (root[0].TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object
                && properties.TryGetProperty("priority", out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out var value))
            {
                priority = value;
            }
            return routingKey.Length > 0 || exchange.Length > 0;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The queues a direct exchange routes a routing key to, from kombu's binding set.</summary>
    private async Task<List<string>> BoundQueuesAsync(IDatabase database, string exchange, string routingKey)
    {
        var members = await _connection.Guard(database.SetMembersAsync(RedisKeys.Binding(exchange)), "read bindings").ConfigureAwait(false);
        var queues = new List<string>();
        foreach (var member in members)
        {
            var parts = ((string)member!).Split(RedisKeys.Separator);
            if (parts.Length == 3 && parts[0] == routingKey && !queues.Contains(parts[2])) queues.Add(parts[2]);
        }
        return queues;
    }
}
