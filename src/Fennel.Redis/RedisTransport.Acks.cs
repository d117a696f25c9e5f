using System.Threading.Channels;
using Fennel.Transport;
using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// Acknowledgements in batches: acks wait in a queue while one script call settles the previous batch, so a busy worker
/// settles hundreds of messages per round trip and an idle one still acks at once.
/// </summary>
public sealed partial class RedisTransport
{
    private const int AckBatch = 512;

    private readonly Channel<PendingAck> _pendingAcks = Channel.CreateUnbounded<PendingAck>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _ackerGate = new();
    private Task? _acker;

    /// <summary>Removes a message for good; completes once the broker has settled it (batched with other acks).</summary>
    public async Task AckAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var pending = new PendingAck(RedisDeliveryTag.Parse(delivery.DeliveryTag), delivery.Queue);
        StartAcking();
        if (!_pendingAcks.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(RedisTransport));
        if (!await pending.Done.Task.ConfigureAwait(false)) Log.SettleAfterLeaseLost(_logger, "ack", pending.Tag.Tag, delivery.Queue);
    }

    private void StartAcking()
    {
        if (_acker is not null) return;
        lock (_ackerGate)
        {
            _acker ??= Task.Run(AckLoopAsync);
        }
    }

    private async Task AckLoopAsync()
    {
        var reader = _pendingAcks.Reader;
        var batch = new List<PendingAck>(AckBatch);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < AckBatch && reader.TryRead(out var pending)) batch.Add(pending);
            try
            {
                var arguments = new RedisValue[batch.Count * 2];
                for (var i = 0; i < batch.Count; i++) (arguments[2 * i], arguments[2 * i + 1]) = (batch[i].Tag.Tag, batch[i].Tag.Nonce);
                var database = await _connection.DatabaseAsync(Options.Database).ConfigureAwait(false);
                var done = (RedisResult[])(await _connection.Guard(database.ScriptEvaluateAsync(RedisScripts.Ack, LeaseKeys(), arguments), "ack")
                    .ConfigureAwait(false))!;
                for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult((int)done[i] == 1);
            }
#pragma warning disable CA1031 // Every waiting ack gets the failure; the loop serves the next batch.
            catch (Exception e)
#pragma warning restore CA1031
            {
                foreach (var pending in batch) pending.Done.TrySetException(e);
            }
            batch.Clear();
        }
    }

    /// <summary>Lets queued acks finish, then stops the loop.</summary>
    private async Task StopAckingAsync()
    {
        _pendingAcks.Writer.TryComplete();
        if (_acker is { } acker) await acker.ConfigureAwait(false);
    }

    private sealed record PendingAck(RedisDeliveryTag Tag, string Queue)
    {
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
