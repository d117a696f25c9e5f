namespace Fennel.Transport;

/// <summary>
/// Durable revokes, kept in the broker: a revoke outlives every worker (Celery keeps revokes only in worker memory, so a
/// revoke made while all workers are offline is lost). Writers append; workers read everything still live when they
/// start, then keep reading from their cursor. Transports that offer it implement this interface.
/// </summary>
/// <remarks>
/// A revoke is kept at least until its <see cref="Revocation.ExpiresAt"/> and never returned after it; the store trims
/// expired ones on its own. Revoking an id twice is allowed (both records are returned; readers keep a set).
/// Implementations are safe for concurrent use.
/// </remarks>
public interface IRevokeStore
{
    /// <summary>Records revokes; completes when the broker holds them durably.</summary>
    Task AddRevokesAsync(IReadOnlyList<Revocation> revocations, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads up to <paramref name="limit"/> revokes recorded after <paramref name="cursor"/> (null: from the oldest one
    /// kept), oldest first, leaving out expired ones (so a page may hold fewer than it covers). Pass the returned
    /// <see cref="RevokePage.Cursor"/> to the next call; when it comes back unchanged the reader has caught up (for now).
    /// </summary>
    Task<RevokePage> ReadRevokesAsync(string? cursor, int limit, CancellationToken cancellationToken = default);
}

/// <summary>One revoked task.</summary>
/// <param name="TaskId">The task id.</param>
/// <param name="Terminate">Stop the task if it is running (Celery's <c>terminate=True</c>).</param>
/// <param name="RevokedAt">When it was revoked.</param>
/// <param name="ExpiresAt">When the revoke is forgotten (<c>Fennel:RevokeExpires</c> after <paramref name="RevokedAt"/>).</param>
public sealed record Revocation(string TaskId, bool Terminate, DateTimeOffset RevokedAt, DateTimeOffset ExpiresAt);

/// <summary>A page of revokes and where the next read starts.</summary>
/// <param name="Revocations">The revokes, oldest first.</param>
/// <param name="Cursor">Where the next read starts; the cursor passed in when nothing was read.</param>
public sealed record RevokePage(IReadOnlyList<Revocation> Revocations, string? Cursor);
