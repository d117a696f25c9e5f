using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Fennel.Dashboard.Api;
using Fennel.Dashboard.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fennel.Dashboard.Live;

/// <summary>
/// Makes the live stream's snapshots and hands them to every listener. One producer, running only while someone
/// listens, makes one snapshot per <see cref="FennelDashboardOptions.LiveInterval"/> (one history query, however many
/// browsers) and serializes it once; each listener has a small buffer of its own that drops the oldest snapshot when
/// the listener falls behind, so a slow client never holds up the producer or the others.
/// </summary>
internal sealed class LiveFeed : IDisposable
{
    /// <summary>Snapshots a listener may have waiting; an older one is dropped for a newer.</summary>
    public const int ListenerBuffer = 2;

    private readonly DashboardServices _dashboard;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly HashSet<Listener> _listeners = [];
    private readonly CancellationTokenRegistration _stopping;
    private CancellationTokenSource? _producerStop;
    private byte[]? _latest;
    private long _produced;
    private bool _stopped;

    public LiveFeed(DashboardServices dashboard, ILogger<LiveFeed> logger, IHostApplicationLifetime lifetime)
    {
        _dashboard = dashboard;
        _logger = logger;
        _stopping = lifetime.ApplicationStopping.Register(Stop);
    }

    /// <summary>Snapshots made since the start (for tests: one per interval, not one per listener or per event).</summary>
    public long Produced => Interlocked.Read(ref _produced);

    /// <summary>How many listen now.</summary>
    public int ListenerCount
    {
        get
        {
            lock (_gate) return _listeners.Count;
        }
    }

    /// <summary>
    /// Starts listening: the latest snapshot comes at once when there is one (else the producer, started now, makes
    /// one at once). Dispose the listener to stop; its reader completes when the host stops.
    /// </summary>
    public Listener Listen()
    {
        var listener = new Listener(this);
        lock (_gate)
        {
            if (_stopped)
            {
                listener.Complete();
                return listener;
            }
            _listeners.Add(listener);
            if (_latest is { } latest) listener.Offer(latest);
            if (_producerStop is null)
            {
                var stop = _producerStop = new CancellationTokenSource();
                _ = Task.Run(() => ProduceAsync(stop), CancellationToken.None);
            }
        }
        return listener;
    }

    private void Leave(Listener listener)
    {
        lock (_gate)
        {
            if (!_listeners.Remove(listener) || _listeners.Count > 0) return;
            // Nobody listens: stop querying; the next listener starts afresh.
            _producerStop?.Cancel();
            _producerStop = null;
            _latest = null;
        }
    }

    private void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            _producerStop?.Cancel();
            _producerStop = null;
            foreach (var listener in _listeners) listener.Complete();
        }
    }

    private async Task ProduceAsync(CancellationTokenSource stop)
    {
        var token = stop.Token;
        using var timer = new PeriodicTimer(_dashboard.Options.LiveInterval, _dashboard.Time);
        try
        {
            do
            {
                byte[] message;
                try
                {
                    message = await SnapshotAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // A failed snapshot (the history unreadable for a moment) must not end the stream; it is logged.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    LiveLog.SnapshotFailed(_logger, ex.Message, ex);
                    continue;
                }
                Interlocked.Increment(ref _produced);
                lock (_gate)
                {
                    if (token.IsCancellationRequested) return;
                    _latest = message;
                    foreach (var listener in _listeners) listener.Offer(message);
                }
            }
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Nobody listens any more, or the host stops.
        }
        finally
        {
            stop.Dispose();
        }
    }

    /// <summary>One snapshot as a whole server-sent event: <c>event: snapshot</c> and its JSON on one <c>data</c> line.</summary>
    private async Task<byte[]> SnapshotAsync(CancellationToken cancellationToken)
    {
        var history = await _dashboard.History.WaitAsync(cancellationToken).ConfigureAwait(false);
        // The version first: a client that sees it grow and asks for the tasks gets at least what it counted.
        var version = history.TaskEventsApplied;
        var overview = await OverviewBuilder.BuildAsync(_dashboard, OverviewBuilder.DefaultMinutes, cancellationToken).ConfigureAwait(false);
        var snapshot = new LiveSnapshotView(overview, [.. _dashboard.State.Snapshot().Workers.Select(WorkerView.From)], version, _dashboard.Time.GetUtcNow());
        // JSON never holds a raw line break (they are escaped in strings), so one data line carries it all.
        var json = JsonSerializer.SerializeToUtf8Bytes(snapshot, ApiJson.Options);
        return [.. "event: snapshot\ndata: "u8, .. json, .. "\n\n"u8];
    }

    public void Dispose()
    {
        _stopping.Dispose();
        Stop();
    }

    /// <summary>One listener's buffer of whole events, newest kept.</summary>
    public sealed class Listener : IDisposable
    {
        private readonly LiveFeed _feed;
        private readonly Channel<byte[]> _buffer = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(ListenerBuffer)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleWriter = false,
            SingleReader = false,
        });

        internal Listener(LiveFeed feed) => _feed = feed;

        /// <summary>The events, as written on the wire; completes when the host stops.</summary>
        public ChannelReader<byte[]> Reader => _buffer.Reader;

        internal void Offer(byte[] message) => _buffer.Writer.TryWrite(message);

        internal void Complete() => _buffer.Writer.TryComplete();

        public void Dispose()
        {
            Complete();
            _feed.Leave(this);
        }
    }
}

/// <summary>One live snapshot: what <c>GET /api/overview</c> and <c>GET /api/workers</c> answer, and the history's task version.</summary>
internal sealed record LiveSnapshotView(OverviewView Overview, IReadOnlyList<WorkerView> Workers, long TasksVersion, DateTimeOffset Time);

/// <summary>The UTF-8 of the stream's fixed lines.</summary>
internal static class LiveWire
{
    /// <summary>A comment that keeps proxies from closing an idle stream; <c>EventSource</c> ignores it.</summary>
    public static readonly byte[] KeepAlive = Encoding.UTF8.GetBytes(": keep-alive\n\n");

    /// <summary>How long <c>EventSource</c> waits before reconnecting after the stream ends.</summary>
    public static readonly byte[] Retry = Encoding.UTF8.GetBytes("retry: 3000\n\n");
}
