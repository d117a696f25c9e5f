namespace Fennel.Worker;

/// <summary>
/// The revoked task ids a worker honours, each until its revoke expires, at most <see cref="Capacity"/> of them (Celery's
/// <c>LimitedSet</c> of revokes holds 50,000). Safe for concurrent use.
/// </summary>
internal sealed class RevokedTasks(int capacity, TimeProvider time)
{
    /// <summary>Celery's bound on the revokes a worker keeps (<c>CELERY_WORKER_REVOKES_MAX</c>).</summary>
    public const int DefaultCapacity = 50_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, DateTimeOffset> _expires = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, DateTimeOffset> _byExpiry = new();

    /// <summary>The most ids held.</summary>
    public int Capacity { get; } = capacity;

    /// <summary>How many ids are held now (expired ones may still count until the next <see cref="Add"/>).</summary>
    public int Count
    {
        get { lock (_gate) return _expires.Count; }
    }

    /// <summary>
    /// Holds <paramref name="taskId"/> until <paramref name="expiresAt"/> (the later one when it is held already). Returns the
    /// id forgotten early to make room, or null.
    /// </summary>
    public string? Add(string taskId, DateTimeOffset expiresAt)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (expiresAt <= now) return null;
            if (_expires.TryGetValue(taskId, out var known) && known >= expiresAt) return null;
            _expires[taskId] = expiresAt;
            _byExpiry.Enqueue(taskId, expiresAt);
            string? evicted = null;
            // Drop what expired; when still over capacity, the id expiring first goes (queue entries superseded by a later
            // expiry of the same id are skipped).
            while (_byExpiry.TryPeek(out var id, out var at) && (at <= now || _expires.Count > Capacity))
            {
                _byExpiry.Dequeue();
                if (!_expires.TryGetValue(id, out var current) || current != at) continue;
                _expires.Remove(id);
                if (at > now) evicted = id;
            }
            return evicted;
        }
    }

    /// <summary>True while <paramref name="taskId"/> is revoked.</summary>
    public bool Contains(string taskId)
    {
        lock (_gate) return _expires.TryGetValue(taskId, out var at) && at > time.GetUtcNow();
    }

    /// <summary>The ids revoked now, each with when its revoke expires (for <c>revoked</c> and mingle's <c>hello</c>).</summary>
    public IReadOnlyList<(string Id, DateTimeOffset ExpiresAt)> Snapshot()
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            return [.. _expires.Where(e => e.Value > now).Select(e => (e.Key, e.Value))];
        }
    }
}
