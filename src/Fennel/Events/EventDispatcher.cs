using System.Threading.Channels;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Events;

/// <summary>
/// Sends Celery events on the <c>celeryev</c> exchange for one sender (a worker, or a client's <c>task-sent</c>), the way
/// Celery's <c>EventDispatcher</c> does: each event gets the sender's <c>hostname</c>, <c>utcoffset</c>, <c>pid</c>, a
/// tick of the process's Lamport clock and a <c>timestamp</c> when it is made, and goes out in kombu's envelope.
/// </summary>
/// <remarks>
/// <para>
/// Nothing here waits for the broker: <see cref="Send"/> puts the event in a bounded buffer and returns; one loop sends.
/// With <c>batchTaskEvents</c> (a worker), task events that piled up while the previous send was in flight go out
/// together as one <c>task.multi</c> message with a list body, at most <see cref="MaxBatch"/> per message, as Celery's
/// worker flushes its task buffer on each turn of its event loop; when the loop is idle an event goes out at once. Other
/// events go singly with their own routing key (<c>worker.heartbeat</c>), in the order they were sent.
/// </para>
/// <para>
/// Events are telemetry: when the buffer is full (the broker is slow or gone) or the broker refuses a send, they are
/// dropped and counted, and a warning says how many and why, at most every <see cref="ReportEvery"/> (and once more when
/// disposed). Disposing sends what is buffered within <c>flushTimeout</c>.
/// </para>
/// </remarks>
internal sealed class EventDispatcher : IAsyncDisposable
{
    /// <summary>Events buffered at most before new ones are dropped.</summary>
    public const int DefaultCapacity = 10_000;

    /// <summary>Task events in one <c>task.multi</c> message at most.</summary>
    public const int MaxBatch = 100;

    /// <summary>The shortest time between two warnings about dropped events.</summary>
    public static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(10);

    private readonly IBroadcastTransport _broadcast;
    private readonly LamportClock _clock;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _batchTaskEvents;
    private readonly int _capacity;
    private readonly TimeSpan _flushTimeout;
    private readonly int _pid = Environment.ProcessId;
    private readonly Channel<CeleryEvent> _buffer;
    private readonly CancellationTokenSource _abort = new();
    private readonly Task _sender;
    private readonly ITimer _reportTimer;
    private long _sent;
    private long _dropped;
    private long _unreported;
    private long _nextReport;
    private string _lastReason = "";
    private int _closed;
    private int _inFlight;
    private volatile bool _abandoned;

    public EventDispatcher(IBroadcastTransport broadcast, string hostname, LamportClock clock, TimeProvider time, ILogger logger,
        bool batchTaskEvents, int capacity = DefaultCapacity, TimeSpan? flushTimeout = null)
    {
        _broadcast = broadcast;
        Hostname = hostname;
        _clock = clock;
        _time = time;
        _logger = logger;
        _batchTaskEvents = batchTaskEvents;
        _capacity = capacity;
        _flushTimeout = flushTimeout ?? TimeSpan.FromSeconds(1);
        _buffer = Channel.CreateBounded<CeleryEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: false when full, so every drop is counted here
            SingleReader = true,
        });
        _reportTimer = time.CreateTimer(_ => Report(force: false), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _sender = Task.Run(SendLoopAsync, CancellationToken.None);
    }

    /// <summary>The sender's node name, in every event and in the envelope's <c>hostname</c> header.</summary>
    public string Hostname { get; }

    /// <summary>Events the broker took.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Events dropped (buffer full, broker error, not sent by shutdown).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Stamps <paramref name="e"/> with this sender's fields, the next clock value and the time, and buffers it for sending.
    /// Never blocks; false when it was dropped (buffer full, or disposed).
    /// </summary>
    public bool Send(CeleryEvent e)
    {
        var now = _time.GetUtcNow();
        var stamped = e with
        {
            Hostname = Hostname,
            UtcOffset = UtcOffset(_time.LocalTimeZone, now),
            Pid = _pid,
            Clock = _clock.Forward(),
            Timestamp = (now - DateTimeOffset.UnixEpoch).TotalSeconds,
        };
        if (_buffer.Writer.TryWrite(stamped)) return true;
        Drop(1, Volatile.Read(ref _closed) != 0
            ? "sent after the sender stopped"
            : $"the buffer of {_capacity} events is full; the broker is not taking them as fast as they come");
        return false;
    }

    /// <summary>
    /// Celery's <c>utcoffset()</c>: <c>time.timezone // 3600</c>, the local zone's distance west of UTC in whole hours,
    /// rounded down (0 in UTC, 5 in New York in winter, -1 in Paris in winter).
    /// </summary>
    internal static int UtcOffset(TimeZoneInfo zone, DateTimeOffset at) => (int)Math.Floor(-zone.GetUtcOffset(at).TotalSeconds / 3600);

    /// <summary>Sends what is buffered, within the flush timeout; what is left is dropped and reported.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _buffer.Writer.TryComplete();
        try
        {
            await _sender.WaitAsync(_flushTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            try
            {
                // A broadcast that ignores its token is not waited for long.
                await _sender.WaitAsync(TimeSpan.FromMilliseconds(250), _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Abandoned: what it was sending is counted as not sent (and not counted again if it lands later).
                _abandoned = true;
                if (Interlocked.Exchange(ref _inFlight, 0) is var stuck and > 0) Drop(stuck, $"not sent within {_flushTimeout.TotalSeconds:0.#} s of shutdown");
            }
        }
        var left = 0;
        while (_buffer.Reader.TryRead(out _)) left++;
        if (left > 0) Drop(left, $"not sent within {_flushTimeout.TotalSeconds:0.#} s of shutdown");
        await _reportTimer.DisposeAsync().ConfigureAwait(false);
        Report(force: true);
        _abort.Dispose();
    }

    private async Task SendLoopAsync()
    {
        var reader = _buffer.Reader;
        var batch = new List<CeleryEvent>(MaxBatch);
        try
        {
            while (await reader.WaitToReadAsync(_abort.Token).ConfigureAwait(false))
            {
                while (!_abort.IsCancellationRequested && reader.TryPeek(out var next))
                {
                    if (_batchTaskEvents && next is TaskEvent)
                    {
                        batch.Clear();
                        while (batch.Count < MaxBatch && reader.TryPeek(out var e) && e is TaskEvent && reader.TryRead(out e)) batch.Add(e);
                        await PublishAsync("task.multi", CeleryEventCodec.EncodeBatch(batch), batch.Count).ConfigureAwait(false);
                    }
                    else if (reader.TryRead(out next))
                    {
                        await PublishAsync(CeleryEventCodec.RoutingKey(next.Type), CeleryEventCodec.Encode(next), 1).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Disposed past the flush timeout.
        }
    }

    private async Task PublishAsync(string routingKey, System.Text.Json.Nodes.JsonNode body, int count)
    {
        Volatile.Write(ref _inFlight, count);
        try
        {
            await _broadcast.BroadcastAsync(EventEnvelope.Exchange, routingKey, EventEnvelope.Encode(body, routingKey, Hostname), _abort.Token)
                .ConfigureAwait(false);
            if (Interlocked.Exchange(ref _inFlight, 0) > 0 && !_abandoned) Interlocked.Add(ref _sent, count);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            if (Interlocked.Exchange(ref _inFlight, 0) > 0) Drop(count, $"not sent within {_flushTimeout.TotalSeconds:0.#} s of shutdown");
            throw;
        }
        catch (Exception ex)
        {
            // Events are telemetry: a broker that is down costs these events, not the task that made them.
            if (Interlocked.Exchange(ref _inFlight, 0) > 0) Drop(count, $"the broker did not take them ({ex.GetType().Name}: {ex.Message})");
        }
    }

    private void Drop(int count, string reason)
    {
        Interlocked.Add(ref _dropped, count);
        Interlocked.Add(ref _unreported, count);
        Volatile.Write(ref _lastReason, reason);
        Report(force: false);
    }

    /// <summary>Warns about the events dropped since the last warning, at most every <see cref="ReportEvery"/> unless forced.</summary>
    private void Report(bool force)
    {
        var now = _time.GetTimestamp();
        var due = Interlocked.Read(ref _nextReport);
        if (!force && now < due)
        {
            // Reported when due even if nothing else is dropped by then.
            var wait = TimeSpan.FromSeconds((double)(due - now) / _time.TimestampFrequency);
            try
            {
                _reportTimer.Change(wait, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // Disposing: the final report follows.
            }
            return;
        }
        var next = now + (long)(ReportEvery.TotalSeconds * _time.TimestampFrequency);
        if (!force && Interlocked.CompareExchange(ref _nextReport, next, due) != due) return; // another thread reports
        if (force) Interlocked.Exchange(ref _nextReport, next);
        var count = Interlocked.Exchange(ref _unreported, 0);
        if (count > 0) Log.EventsDropped(_logger, Hostname, count, Dropped, Volatile.Read(ref _lastReason));
    }
}
