using System.Globalization;
using Fennel.Transport;

namespace Fennel.Sqlite;

/// <summary>The dead-letter store: the <c>dead_letters</c> table of the same file.</summary>
public sealed partial class SqliteTransport
{
    /// <inheritdoc />
    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return _database.ReadAsync<IReadOnlyList<DeadLetter>>(async command =>
        {
            command.CommandText = """
                SELECT id, queue, body, reason, dead_lettered_at, delivery_count FROM dead_letters ORDER BY id DESC LIMIT $limit
                """;
            command.Parameters.AddWithValue("$limit", limit);
            var letters = new List<DeadLetter>();
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    letters.Add(new DeadLetter(reader.GetInt64(0).ToString(CultureInfo.InvariantCulture), reader.GetString(1),
                        reader.GetFieldValue<byte[]>(2), reader.GetString(3), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                        reader.GetInt32(5)));
                }
            }
            return letters;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The message goes back with its priority, visible at once, as a first delivery.</remarks>
    public async Task<bool> RequeueDeadLetterAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var rowId)) return false;
        var requeued = await _database.WriteAsync(async command =>
        {
            command.CommandText = """
                INSERT INTO messages (queue, priority, body, visible_at, enqueued_at)
                SELECT queue, priority, body, 0, $now FROM dead_letters WHERE id = $id
                """;
            command.Parameters.AddWithValue("$id", rowId);
            command.Parameters.AddWithValue("$now", NowMs());
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0) return false;
            command.CommandText = "DELETE FROM dead_letters WHERE id = $id";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (requeued) _published.Pulse();
        return requeued;
    }

    /// <inheritdoc />
    public Task<long> PurgeDeadLettersAsync(CancellationToken cancellationToken = default) =>
        _database.WriteAsync(async command =>
        {
            command.CommandText = "DELETE FROM dead_letters";
            return (long)await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
}
