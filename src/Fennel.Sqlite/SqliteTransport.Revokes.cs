using System.Globalization;
using Fennel.Transport;
using Microsoft.Data.Sqlite;

namespace Fennel.Sqlite;

/// <summary>
/// Durable revokes: the <c>revokes</c> table of the same file. The row id is the readers' cursor; each write also deletes
/// the revokes that have expired, so the table stays as small as the live set.
/// </summary>
public sealed partial class SqliteTransport
{
    /// <inheritdoc />
    public async Task AddRevokesAsync(IReadOnlyList<Revocation> revocations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revocations);
        if (revocations.Count == 0) return;
        foreach (var revocation in revocations) ArgumentException.ThrowIfNullOrEmpty(revocation?.TaskId, nameof(revocations));
        await _database.WriteAsync(async command =>
        {
            command.CommandText = "DELETE FROM revokes WHERE expires_at <= $now";
            command.Parameters.AddWithValue("$now", NowMs());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            command.Parameters.Clear();
            command.CommandText = """
                INSERT INTO revokes (task_id, terminate, revoked_at, expires_at) VALUES ($task_id, $terminate, $revoked_at, $expires_at)
                """;
            var taskId = command.Parameters.Add("$task_id", SqliteType.Text);
            var terminate = command.Parameters.Add("$terminate", SqliteType.Integer);
            var revokedAt = command.Parameters.Add("$revoked_at", SqliteType.Integer);
            var expiresAt = command.Parameters.Add("$expires_at", SqliteType.Integer);
            command.Prepare();
            foreach (var revocation in revocations)
            {
                taskId.Value = revocation.TaskId;
                terminate.Value = revocation.Terminate ? 1 : 0;
                revokedAt.Value = revocation.RevokedAt.ToUnixTimeMilliseconds();
                expiresAt.Value = revocation.ExpiresAt.ToUnixTimeMilliseconds();
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<RevokePage> ReadRevokesAsync(string? cursor, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        long after = 0;
        if (cursor is not null && !long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            throw new ArgumentException($"'{cursor}' is not a cursor of the SQLite revoke store (a row id).", nameof(cursor));
        }
        return _database.ReadAsync(async command =>
        {
            // The page covers row ids, expired or not, so the cursor moves past expired rows too.
            command.CommandText = """
                SELECT id, task_id, terminate, revoked_at, expires_at FROM revokes WHERE id > $after ORDER BY id LIMIT $limit
                """;
            command.Parameters.AddWithValue("$after", after);
            command.Parameters.AddWithValue("$limit", limit);
            var now = NowMs();
            var revocations = new List<Revocation>();
            var last = cursor;
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    last = reader.GetInt64(0).ToString(CultureInfo.InvariantCulture);
                    var expiresAt = reader.GetInt64(4);
                    if (expiresAt <= now) continue;
                    revocations.Add(new Revocation(reader.GetString(1), reader.GetInt64(2) != 0,
                        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)), DateTimeOffset.FromUnixTimeMilliseconds(expiresAt)));
                }
            }
            return new RevokePage(revocations, last);
        }, cancellationToken);
    }
}
