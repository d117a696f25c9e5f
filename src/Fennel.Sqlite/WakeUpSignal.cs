using System.Collections.Concurrent;

namespace Fennel.Sqlite;

/// <summary>
/// An in-process hint that something changed in a SQLite file (a message was published, a result stored), so waiters in
/// this process look again at once instead of at their next poll.
/// </summary>
/// <remarks>
/// The signals are static, one per file and purpose, because every transport and result store of this process that opens
/// the same file should hear it: a producer and a worker host in one app, or two DI containers, each hold their own
/// instance. That is acceptable shared state because it is only a hint: correctness never depends on it, since waiters
/// also poll with backoff, which is how they hear other processes. The set is bounded by the files a process opens.
/// </remarks>
internal sealed class WakeUpSignal
{
    private static readonly ConcurrentDictionary<string, WakeUpSignal> Signals = new(StringComparer.Ordinal);
    private TaskCompletionSource _next = NewSource();

    /// <summary>The signal for <paramref name="purpose"/> (e.g. <c>messages</c>) on the file at <paramref name="path"/>.</summary>
    public static WakeUpSignal For(string path, string purpose) => Signals.GetOrAdd($"{purpose}|{path}", _ => new WakeUpSignal());

    /// <summary>
    /// A task that completes at the next <see cref="Pulse"/>. Take it before looking at the database, so a pulse between
    /// the look and the wait is not missed.
    /// </summary>
    public Task NextPulse => Volatile.Read(ref _next).Task;

    /// <summary>Wakes everyone waiting on <see cref="NextPulse"/>.</summary>
    public void Pulse() => Interlocked.Exchange(ref _next, NewSource()).TrySetResult();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
