using Fennel.Worker;

namespace Fennel.Hosting;

/// <summary>
/// Whether a worker is alive, from what it knows about itself (no broker round trip): running, and its fetch loop went
/// round within <see cref="StaleAfter"/>. What the health endpoint answers and what the systemd watchdog pings on.
/// </summary>
/// <param name="Alive">True when the worker runs and its fetch loop is going round.</param>
/// <param name="Status"><c>ok</c>, <c>starting</c>, <c>stuck</c>, <c>stopping</c> or <c>stopped</c>.</param>
/// <param name="SinceFetchLoop">How long ago the fetch loop last went round; null before it first did.</param>
internal readonly record struct WorkerLiveness(bool Alive, string Status, TimeSpan? SinceFetchLoop)
{
    /// <summary>
    /// How long the fetch loop may go without a round before the worker counts as stuck. It normally goes round about
    /// once a second (see <see cref="Worker.Worker.LastFetchLoopActivity"/>); the margin covers a slow broker call and
    /// a busy machine. <value>30 seconds.</value>
    /// </summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(30);

    /// <summary>Judges a worker from its state and its fetch loop's last round.</summary>
    public static WorkerLiveness Evaluate(WorkerState state, DateTimeOffset? lastFetchLoop, DateTimeOffset now, TimeSpan staleAfter)
    {
        var since = lastFetchLoop is { } last ? now - last : (TimeSpan?)null;
        return state switch
        {
            WorkerState.Created or WorkerState.Starting => new(false, "starting", since),
            WorkerState.Running when since is null => new(false, "starting", since),
            WorkerState.Running when since > staleAfter => new(false, "stuck", since),
            WorkerState.Running => new(true, "ok", since),
            WorkerState.Stopping => new(false, "stopping", since),
            _ => new(false, "stopped", since),
        };
    }

    /// <summary>Judges <paramref name="worker"/> now.</summary>
    public static WorkerLiveness Of(Worker.Worker worker, TimeProvider time, TimeSpan staleAfter) =>
        Evaluate(worker.State, worker.LastFetchLoopActivity, time.GetUtcNow(), staleAfter);
}
