using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Transport;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Fennel.RabbitMQ;

// Durable revokes: the stream queue `fennel.revokes` (x-queue-type: stream, RabbitMQ 3.9+). A stream is a log that any
// number of consumers read from any offset without taking messages away, which is what "every worker, including one
// started later, sees every revoke" needs; a classic queue would hand each revoke to one consumer only. Retention is
// by age (x-max-age, set from the first revoke's lifetime when the stream is created) in small segments, so expired
// revokes go away on their own. Each revoke is one persistent message, published with confirms.
//
// Reading: AMQP 0-9-1 cannot fetch from a stream (no basic.get), so the first read opens a consumer from the first
// offset on a channel of its own (basic.qos as streams require, manual acks as credit) and mirrors the live revokes in
// memory; reads page through that mirror by stream offset (the cursor). To know that first read is complete, the reader
// publishes a marker message and waits until it comes back through the stream: everything before it has arrived.
// Later reads return what the broker pushed since (within milliseconds of the publish).
public sealed partial class RabbitMQTransport : IRevokeStore
{
    /// <summary>The stream of revokes.</summary>
    internal const string RevokeStream = "fennel.revokes";

    private const string MarkerField = "fennel_marker";
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a reader looks again for a stream that does not exist yet (no revoke was ever made on the vhost). Each
    /// look costs a channel (a failed passive declare closes it), so not on every 250 ms poll: the very first revoke on a
    /// vhost may reach running workers up to this much later.
    /// </summary>
    private static readonly TimeSpan MissingStreamRecheck = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _revokeGate = new(1, 1);
    private readonly Lock _mirrorGate = new();
    private readonly SortedList<long, Revocation> _mirror = [];
    private readonly Dictionary<string, TaskCompletionSource> _markers = new(StringComparer.Ordinal);
    private IChannel? _revokeChannel;
    private long _lastOffset = -1;
    private bool _streamDeclared;
    private DateTimeOffset _streamMissingUntil;

    /// <inheritdoc />
    public async Task AddRevokesAsync(IReadOnlyList<Revocation> revocations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revocations);
        if (revocations.Count == 0) return;
        foreach (var revocation in revocations) ArgumentException.ThrowIfNullOrEmpty(revocation?.TaskId, nameof(revocations));
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var lifetime = revocations.Max(r => r.ExpiresAt - r.RevokedAt);
        await EnsureRevokeStreamAsync(lifetime, cancellationToken).ConfigureAwait(false);
        var messages = revocations.Select(r => new Outgoing(RevokeStream, Persistent(), JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["task_id"] = r.TaskId,
            ["terminate"] = r.Terminate,
            ["revoked_at"] = r.RevokedAt.ToUnixTimeMilliseconds(),
            ["expires_at"] = r.ExpiresAt.ToUnixTimeMilliseconds(),
        }))).ToList();
        await PublishToQueuesAsync(messages, cancellationToken, redeclare: false).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The first read (and the first after the consumer was lost) is complete up to the moment of the call; later ones
    /// return what the broker has pushed since, which follows a publish within milliseconds.
    /// </remarks>
    public async Task<RevokePage> ReadRevokesAsync(string? cursor, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var after = -1L;
        if (cursor is not null && !long.TryParse(cursor, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out after))
        {
            throw new ArgumentException($"'{cursor}' is not a cursor of the RabbitMQ revoke store (a stream offset).", nameof(cursor));
        }
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (!await EnsureRevokeReaderAsync(cancellationToken).ConfigureAwait(false)) return new RevokePage([], cursor);
        lock (_mirrorGate)
        {
            var now = _time.GetUtcNow();
            foreach (var expired in _mirror.Where(m => m.Value.ExpiresAt <= now).Select(m => m.Key).ToList()) _mirror.Remove(expired);
            var page = new List<Revocation>();
            var last = after;
            foreach (var (offset, revocation) in _mirror)
            {
                if (offset <= after) continue;
                if (page.Count == limit) break;
                page.Add(revocation);
                last = offset;
            }
            // Past markers and expired entries too, so a caught-up reader's cursor stays put only when nothing is new.
            if (page.Count < limit && _lastOffset > last) last = _lastOffset;
            return new RevokePage(page, last == after ? cursor : last.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static BasicProperties Persistent() => new() { DeliveryMode = DeliveryModes.Persistent, ContentType = "application/json" };

    /// <summary>Declares the stream unless it exists (a passive check first: its retention is fixed when it is created).</summary>
    private async Task EnsureRevokeStreamAsync(TimeSpan lifetime, CancellationToken cancellationToken)
    {
        if (_streamDeclared) return;
        if (!await RevokeStreamExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            var seconds = (long)Math.Ceiling(Math.Max(lifetime.TotalSeconds, 60));
            await AdminAsync(channel => channel.QueueDeclareAsync(RevokeStream, durable: true, exclusive: false, autoDelete: false, new Dictionary<string, object?>
            {
                ["x-queue-type"] = "stream",
                ["x-max-age"] = seconds.ToString(CultureInfo.InvariantCulture) + "s",
                // Retention drops whole segments; the default (500 MB) would keep a small stream forever.
                ["x-stream-max-segment-size-bytes"] = 1_000_000,
            }, cancellationToken: cancellationToken), "declare the revoke stream " + RevokeStream).ConfigureAwait(false);
        }
        _streamDeclared = true;
    }

    private async Task<bool> RevokeStreamExistsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await AdminAsync(channel => channel.QueueDeclarePassiveAsync(RevokeStream, cancellationToken), "look for the revoke stream").ConfigureAwait(false);
            return true;
        }
        catch (BrokerException e) when (e.InnerException is OperationInterruptedException { ShutdownReason.ReplyCode: 404 })
        {
            return false; // the admin channel closed; AdminAsync opens a new one next time
        }
    }

    /// <summary>Starts the mirror's consumer if it is not running and waits until it has caught up; false when no stream exists yet.</summary>
    private async Task<bool> EnsureRevokeReaderAsync(CancellationToken cancellationToken)
    {
        if (_revokeChannel is { IsOpen: true }) return true;
        await _revokeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_revokeChannel is { IsOpen: true }) return true;
            if (!_streamDeclared)
            {
                if (_time.GetUtcNow() < _streamMissingUntil) return false;
                if (!await RevokeStreamExistsAsync(cancellationToken).ConfigureAwait(false))
                {
                    _streamMissingUntil = _time.GetUtcNow() + MissingStreamRecheck;
                    return false;
                }
            }
            _streamDeclared = true;
            if (_revokeChannel is { } old) await DisposeQuietlyAsync(old).ConfigureAwait(false);
            var channel = await _connection.CreateChannelAsync(cancellationToken).ConfigureAwait(false);
            _revokeChannel = channel;
            // Streams need a prefetch; acknowledgements only return credit.
            await RabbitMQErrors.Guard(channel.BasicQosAsync(0, 1000, false, cancellationToken), Options, "set the revoke stream's prefetch").ConfigureAwait(false);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += OnRevokeReceivedAsync;
            long resumeAt;
            lock (_mirrorGate) resumeAt = _lastOffset + 1;
            object offset = resumeAt == 0 ? "first" : resumeAt;
            await RabbitMQErrors.Guard(channel.BasicConsumeAsync(RevokeStream, autoAck: false, consumerTag: "", noLocal: false, exclusive: false,
                new Dictionary<string, object?> { ["x-stream-offset"] = offset }, consumer, cancellationToken), Options, "read the revoke stream").ConfigureAwait(false);
            await CatchUpAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _revokeGate.Release();
        }
    }

    /// <summary>Publishes a marker and waits until it comes back through the stream: everything published before it has arrived.</summary>
    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        var marker = Guid.NewGuid().ToString("N");
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_mirrorGate) _markers[marker] = seen;
        try
        {
            await PublishToQueuesAsync([new Outgoing(RevokeStream, Persistent(), JsonSerializer.SerializeToUtf8Bytes(new JsonObject { [MarkerField] = marker }))],
                cancellationToken, redeclare: false).ConfigureAwait(false);
            await seen.Task.WaitAsync(CatchUpTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new BrokerException($"RabbitMQ at {Options.Display} did not deliver the revoke stream {RevokeStream} within {CatchUpTimeout.TotalSeconds:0} s.");
        }
        finally
        {
            lock (_mirrorGate) _markers.Remove(marker);
        }
    }

    private async Task OnRevokeReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        var channel = ((AsyncEventingBasicConsumer)sender).Channel;
        var offset = delivery.BasicProperties.Headers?.TryGetValue("x-stream-offset", out var value) == true ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : -1;
        TaskCompletionSource? marker = null;
        lock (_mirrorGate)
        {
            // A recovered consumer starts again from its first offset: what was mirrored already is skipped.
            if (offset > _lastOffset)
            {
                _lastOffset = offset;
                switch (Parse(delivery.Body.Span))
                {
                    case Revocation revocation when revocation.ExpiresAt > _time.GetUtcNow():
                        _mirror[offset] = revocation;
                        break;
                    case string id when _markers.TryGetValue(id, out var waiting):
                        marker = waiting;
                        break;
                }
            }
        }
        marker?.TrySetResult();
        try
        {
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false).ConfigureAwait(false);
        }
        catch (Exception e) when (RabbitMQErrors.IsRabbit(e))
        {
            // The channel closed: the next read opens a new consumer from the last offset.
        }
    }

    /// <summary>A revocation, a marker's id, or null for anything else (ignored).</summary>
    private object? Parse(ReadOnlySpan<byte> body)
    {
        try
        {
            if (JsonNode.Parse(body) is not JsonObject json) return null;
            if (json[MarkerField]?.GetValue<string>() is { } marker) return marker;
            var taskId = json["task_id"]?.GetValue<string>();
            if (string.IsNullOrEmpty(taskId)) return null;
            return new Revocation(taskId, json["terminate"]?.GetValue<bool>() ?? false,
                DateTimeOffset.FromUnixTimeMilliseconds(json["revoked_at"]?.GetValue<long>() ?? 0),
                DateTimeOffset.FromUnixTimeMilliseconds(json["expires_at"]?.GetValue<long>() ?? 0));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            Log.UnreadableRevoke(_logger, RevokeStream, e);
            return null;
        }
    }

    private async Task StopRevokeReaderAsync()
    {
        if (_revokeChannel is { } channel) await DisposeQuietlyAsync(channel).ConfigureAwait(false);
        _revokeGate.Dispose();
    }
}
