using System.Globalization;
using Fennel.Transport;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// Durable revokes: the stream <c>_fennel.revokes</c>. A write appends with <c>XADD</c> (the entry id, server time, is
/// the readers' cursor) after deleting the expired entries at the old end, in one script; a read is one
/// <c>XRANGE (cursor + COUNT n</c>, so a worker that is up to date pays one cheap command per poll. kombu never looks at it.
/// </summary>
public sealed partial class RedisTransport
{
    /// <summary>Most expired entries one write deletes, so one script never runs long; the next write goes on.</summary>
    private const int RevokeTrimBatch = 1000;

    /// <summary>
    /// KEYS[1] the stream; ARGV[1] now (Unix ms), ARGV[2] how many expired entries to delete at most, then four values per
    /// revoke: task id, terminate (1/0), revoked at, expires at. Deletes expired entries from the oldest end (stopping at the
    /// first live one: a revoke kept longer than asked is harmless, readers skip it), then appends. Returns the count deleted.
    /// </summary>
    private const string AddRevokesScript = """
        local now = tonumber(ARGV[1])
        local budget = tonumber(ARGV[2])
        local trimmed = 0
        local live = false
        while not live and trimmed < budget do
          local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 100)
          if #oldest == 0 then break end
          for _, entry in ipairs(oldest) do
            local fields = entry[2]
            local expires = nil
            for i = 1, #fields, 2 do
              if fields[i] == 'expires_at' then expires = tonumber(fields[i + 1]) end
            end
            if expires == nil or expires > now or trimmed >= budget then live = true break end
            redis.call('XDEL', KEYS[1], entry[1])
            trimmed = trimmed + 1
          end
        end
        for i = 3, #ARGV, 4 do
          redis.call('XADD', KEYS[1], '*', 'task_id', ARGV[i], 'terminate', ARGV[i + 1], 'revoked_at', ARGV[i + 2], 'expires_at', ARGV[i + 3])
        end
        return trimmed
        """;

    /// <inheritdoc />
    public async Task AddRevokesAsync(IReadOnlyList<Revocation> revocations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revocations);
        if (revocations.Count == 0) return;
        var arguments = new List<RedisValue>(2 + revocations.Count * 4)
        {
            _time.GetUtcNow().ToUnixTimeMilliseconds(),
            RevokeTrimBatch,
        };
        foreach (var revocation in revocations)
        {
            ArgumentException.ThrowIfNullOrEmpty(revocation?.TaskId, nameof(revocations));
            arguments.Add(revocation.TaskId);
            arguments.Add(revocation.Terminate ? 1 : 0);
            arguments.Add(revocation.RevokedAt.ToUnixTimeMilliseconds());
            arguments.Add(revocation.ExpiresAt.ToUnixTimeMilliseconds());
        }
        var database = await DatabaseAsync().ConfigureAwait(false);
        await _connection.Guard(database.ScriptEvaluateAsync(AddRevokesScript, [RedisKeys.Revokes], [.. arguments]),
            revocations.Count == 1 ? $"revoke {revocations[0].TaskId}" : $"revoke {revocations.Count} tasks").ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<RevokePage> ReadRevokesAsync(string? cursor, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        if (cursor is not null && !IsStreamId(cursor))
        {
            throw new ArgumentException($"'{cursor}' is not a cursor of the Redis revoke store (a stream entry id).", nameof(cursor));
        }
        var database = await DatabaseAsync().ConfigureAwait(false);
        var entries = await _connection.Guard(database.StreamRangeAsync(RedisKeys.Revokes, cursor is null ? "-" : "(" + cursor, "+", limit),
            "read revokes").ConfigureAwait(false);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var revocations = new List<Revocation>(entries.Length);
        foreach (var entry in entries)
        {
            string? taskId = null;
            var terminate = false;
            long revokedAt = 0, expiresAt = 0;
            foreach (var field in entry.Values)
            {
                switch ((string?)field.Name)
                {
                    case "task_id": taskId = field.Value; break;
                    case "terminate": terminate = field.Value == 1; break;
                    case "revoked_at": revokedAt = (long)field.Value; break;
                    case "expires_at": expiresAt = (long)field.Value; break;
                }
            }
            if (string.IsNullOrEmpty(taskId) || expiresAt <= now) continue;
            revocations.Add(new Revocation(taskId, terminate, DateTimeOffset.FromUnixTimeMilliseconds(revokedAt), DateTimeOffset.FromUnixTimeMilliseconds(expiresAt)));
        }
        return new RevokePage(revocations, entries.Length > 0 ? entries[^1].Id.ToString() : cursor);
    }

    private static bool IsStreamId(string cursor)
    {
        var dash = cursor.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && ulong.TryParse(cursor.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && ulong.TryParse(cursor.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _);
    }
}
