using Fennel.Tasks;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

/// <summary>
/// The messages of one rate-limited task waiting in a worker for their turn, in arrival order. One loop per line hands
/// out turns — from the worker's own <see cref="TokenBucket"/>, or from the broker's <see cref="ISharedRateLimiter"/> for
/// a cluster-wide limit — so a thousand waiting messages cost one timer (and at most one broker call a second), not a
/// thousand.
/// </summary>
/// <remarks>
/// The loop never sleeps more than a second between looks, so a rate changed at run time (<see cref="Rate"/>) applies to
/// waiting messages within a second; without a rate every waiter gets its turn at once. When the shared limiter fails
/// (a broker blip), nobody gets a turn: the loop logs and asks again with a growing pause (up to 10 s), while the
/// messages stay held and their leases renewed.
/// </remarks>
internal sealed class RateLimitLine
{
    private static readonly TimeSpan LongestSleep = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly Queue<TaskCompletionSource> _waiting = new();
    private readonly TokenBucket _bucket;
    private readonly ISharedRateLimiter? _shared;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _node;
    private readonly CancellationToken _stopping;
    private RateLimit? _rate;
    private bool _serving;

    public RateLimitLine(string task, RateLimit? rate, ISharedRateLimiter? shared, TimeProvider time, ILogger logger, string node,
        CancellationToken stopping)
    {
        TaskName = task;
        _rate = rate;
        _shared = shared;
        _time = time;
        _logger = logger;
        _node = node;
        _stopping = stopping;
        _bucket = new TokenBucket(time);
    }

    /// <summary>The task whose messages wait here.</summary>
    public string TaskName { get; }

    /// <summary>True when turns come from the broker, shared by every worker on it.</summary>
    public bool IsShared => _shared is not null;

    /// <summary>The rate in force; null lets every waiter go at once.</summary>
    public RateLimit? Rate
    {
        get => Volatile.Read(ref _rate);
        set => Volatile.Write(ref _rate, value);
    }

    /// <summary>How many messages wait (cancelled ones may still be counted until the loop passes them).</summary>
    public int Count
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>
    /// Takes a place at the end of the line, now: call it where arrival order is known (the dispatcher, one message after
    /// another), then wait with <see cref="WaitTurnAsync"/>.
    /// </summary>
    public TaskCompletionSource Join()
    {
        var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool start;
        lock (_gate)
        {
            _waiting.Enqueue(turn);
            start = !_serving;
            _serving = true;
        }
        if (start) _ = Task.Run(ServeAsync, CancellationToken.None);
        return turn;
    }

    /// <summary>Completes when it is <paramref name="turn"/>'s turn; throws <see cref="OperationCanceledException"/> when cancelled first.</summary>
    public static async Task WaitTurnAsync(TaskCompletionSource turn, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(turn);
        using (cancellationToken.UnsafeRegister(static state => ((TaskCompletionSource)state!).TrySetCanceled(), turn))
        {
            await turn.Task.ConfigureAwait(false);
        }
    }

    private async Task ServeAsync()
    {
        var backoff = LongestSleep;
        var failing = false;
        while (true)
        {
            lock (_gate)
            {
                while (_waiting.TryPeek(out var head) && head.Task.IsCompleted) _waiting.Dequeue();
                if (_waiting.Count == 0 || _stopping.IsCancellationRequested)
                {
                    // Nobody waits (or the worker is gone): end here; the next waiter starts a new loop.
                    while (_waiting.TryDequeue(out var left)) left.TrySetCanceled();
                    _serving = false;
                    return;
                }
            }

            TimeSpan wait;
            try
            {
                wait = await TryTakeTurnAsync().ConfigureAwait(false);
                if (failing)
                {
                    Log.SharedRateLimiterRecovered(_logger, _node, TaskName);
                    failing = false;
                    backoff = LongestSleep;
                }
            }
            catch (Exception ex) when (!_stopping.IsCancellationRequested)
            {
                // Never run unlimited and never drop: keep everyone waiting (held, leases renewed) and ask again.
                failing = true;
                Log.SharedRateLimiterFailed(_logger, _node, TaskName, Count, backoff.TotalSeconds, ex);
                wait = backoff;
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LongestBackoff.Ticks));
                await SleepAsync(wait).ConfigureAwait(false);
                continue;
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                continue; // stopping: the check above ends the loop
            }

            if (wait <= TimeSpan.Zero) Grant();
            else await SleepAsync(wait < LongestSleep ? wait : LongestSleep).ConfigureAwait(false);
        }
    }

    private async Task<TimeSpan> TryTakeTurnAsync()
    {
        var rate = Rate;
        if (rate is null) return TimeSpan.Zero;
        if (_shared is null) return _bucket.TryTake(rate.Interval);
        return await _shared.TryTakeTurnAsync(TaskName, rate.Interval, _stopping).ConfigureAwait(false);
    }

    /// <summary>Gives the turn to the first waiter still waiting; with none left, the turn goes unused (erring slow).</summary>
    private void Grant()
    {
        lock (_gate)
        {
            while (_waiting.TryDequeue(out var waiter))
            {
                if (waiter.TrySetResult()) return;
            }
        }
    }

    private async Task SleepAsync(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _time, _stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the loop ends at its next check.
        }
    }
}
