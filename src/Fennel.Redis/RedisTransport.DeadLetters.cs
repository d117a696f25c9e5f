using System.Text;
using System.Text.Json;
using Fennel.Transport;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>Dead letters: a hash of records (<c>_fennel.dead_letters</c>) and an index by time.</summary>
public sealed partial class RedisTransport
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var database = await DatabaseAsync().ConfigureAwait(false);
        var ids = await _connection.Guard(database.SortedSetRangeByRankAsync(RedisKeys.DeadLetterIndex, 0, limit - 1, Order.Descending), "list dead letters")
            .ConfigureAwait(false);
        if (ids.Length == 0) return [];
        var records = await _connection.Guard(database.HashGetAsync(RedisKeys.DeadLetters, ids), "list dead letters").ConfigureAwait(false);
        var letters = new List<DeadLetter>(ids.Length);
        foreach (var value in records)
        {
            if (value.IsNull) continue;
            var record = JsonSerializer.Deserialize<DeadLetterRecord>((string)value!, DeadLetterRecord.Json)!;
            letters.Add(new DeadLetter(record.Id, record.Queue, Encoding.UTF8.GetBytes(record.Body), record.Reason,
                DateTimeOffset.FromUnixTimeMilliseconds((long)(record.At * 1000)), record.Deliveries));
        }
        return letters;
    }

    /// <inheritdoc />
    public async Task<bool> RequeueDeadLetterAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var database = await DatabaseAsync().ConfigureAwait(false);
        var value = await _connection.Guard(database.HashGetAsync(RedisKeys.DeadLetters, id), "read a dead letter").ConfigureAwait(false);
        if (value.IsNull) return false;
        var record = JsonSerializer.Deserialize<DeadLetterRecord>((string)value!, DeadLetterRecord.Json)!;
        if (record.Queue.Length == 0) throw new InvalidOperationException($"Dead letter {id} came from no queue ({record.Reason}); it cannot be requeued.");
        var done = await _connection.Guard(database.ScriptEvaluateAsync(RedisScripts.Requeue, LeaseKeys(RedisKeys.List(record.Queue, record.Priority)),
            [id, record.Body, record.Tag]), "requeue a dead letter").ConfigureAwait(false);
        if ((int)done == 0) return false;
        _ = database.PublishAsync(_keys.Ready(record.Queue), RedisValue.EmptyString, CommandFlags.FireAndForget);
        return true;
    }

    /// <inheritdoc />
    public async Task<long> PurgeDeadLettersAsync(CancellationToken cancellationToken = default)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        var transaction = database.CreateTransaction();
        var count = transaction.HashLengthAsync(RedisKeys.DeadLetters);
        _ = transaction.KeyDeleteAsync([RedisKeys.DeadLetters, RedisKeys.DeadLetterIndex]);
        await _connection.Guard(transaction.ExecuteAsync(), "purge dead letters").ConfigureAwait(false);
        return await count.ConfigureAwait(false);
    }
}
