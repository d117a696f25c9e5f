using System.Collections.Concurrent;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Fennel.RabbitMQ;

/// <summary>
/// Publishing with publisher confirms and a window: messages go out back to back, in order, and each caller completes
/// when the broker confirmed its message (or fails when it refused it, could not route it, or the channel closed
/// first). At most <see cref="RabbitMQConnection.ConfirmWindow"/> messages wait for a confirm at once.
/// </summary>
/// <remarks>
/// Fennel tracks confirms itself rather than through RabbitMQ.Client's tracking, which would add an
/// <c>x-dotnet-pub-seq-no</c> header to every task and completes concurrent publishes in no particular order. A
/// <c>basic.return</c> (mandatory, unroutable) arrives before the confirm of the same message; it is matched to the
/// oldest outstanding message with the same routing key and correlation id.
/// </remarks>
internal sealed class ConfirmingPublisher
{
    private readonly IChannel _channel;
    private readonly RabbitMQOptions _options;
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly SemaphoreSlim _window = new(RabbitMQConnection.ConfirmWindow, RabbitMQConnection.ConfirmWindow);
    private readonly ConcurrentDictionary<ulong, Outstanding> _outstanding = new();

    public ConfirmingPublisher(IChannel channel, RabbitMQOptions options)
    {
        _channel = channel;
        _options = options;
        channel.BasicAcksAsync += OnAckAsync;
        channel.BasicNacksAsync += OnNackAsync;
        channel.BasicReturnAsync += OnReturnAsync;
        channel.ChannelShutdownAsync += OnShutdownAsync;
    }

    public bool IsOpen => _channel.IsOpen;

    public bool IsClosed => _channel.IsClosed;

    /// <summary>What became of a published message.</summary>
    public enum Outcome
    {
        /// <summary>The broker has it.</summary>
        Confirmed,

        /// <summary>No queue matched (mandatory): the broker dropped it.</summary>
        Returned,
    }

    /// <summary>One message to publish.</summary>
    public readonly record struct Message(string Exchange, string RoutingKey, bool Mandatory, BasicProperties Properties, ReadOnlyMemory<byte> Body);

    /// <summary>
    /// Sends <paramref name="messages"/> in order, back to back, and returns one task per message that completes with
    /// the broker's answer. The sends are awaited here; the confirms are not.
    /// </summary>
    /// <exception cref="BrokerException">The channel is closed.</exception>
    public async Task<Task<Outcome>[]> SendAsync(IReadOnlyList<Message> messages, CancellationToken cancellationToken)
    {
        var confirms = new Task<Outcome>[messages.Count];
        await _sending.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var i = 0; i < messages.Count; i++)
            {
                await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
                var message = messages[i];
                var outstanding = new Outstanding(message.RoutingKey, message.Properties.CorrelationId);
                ulong? sequence = null;
                try
                {
                    sequence = await _channel.GetNextPublishSequenceNumberAsync(cancellationToken).ConfigureAwait(false);
                    _outstanding[sequence.Value] = outstanding;
                    await _channel.BasicPublishAsync(message.Exchange, message.RoutingKey, message.Mandatory, message.Properties, message.Body, cancellationToken)
                        .ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // Not sent (a shutdown may have failed it meanwhile and freed its place in the window).
                    if (sequence is null || _outstanding.TryRemove(sequence.Value, out _)) _window.Release();
                    var failed = Task.FromException<Outcome>(e);
                    for (var j = i; j < messages.Count; j++) confirms[j] = failed;
                    return confirms;
                }
                confirms[i] = outstanding.Completion.Task;
            }
        }
        finally
        {
            _sending.Release();
        }
        return confirms;
    }

    /// <summary>Publishes one message and waits for the broker's answer (a return counts as done: the caller did not ask for routing).</summary>
    /// <exception cref="BrokerException">Refused, not confirmed in time, or the channel closed first.</exception>
    public async Task PublishAsync(Message message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var confirms = await SendAsync([message], cancellationToken).ConfigureAwait(false);
        try
        {
            await confirms[0].WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new BrokerException($"RabbitMQ at {_options.Display} did not confirm a message to '{message.Exchange}'/'{message.RoutingKey}' within {timeout.TotalSeconds:0.#} s.");
        }
    }

    private Task OnAckAsync(object sender, BasicAckEventArgs e)
    {
        Complete(e.DeliveryTag, e.Multiple, o => o.Completion.TrySetResult(o.Returned ? Outcome.Returned : Outcome.Confirmed));
        return Task.CompletedTask;
    }

    private Task OnNackAsync(object sender, BasicNackEventArgs e)
    {
        Complete(e.DeliveryTag, e.Multiple, o => o.Completion.TrySetException(new BrokerException(
            $"RabbitMQ at {_options.Display} refused a message to '{o.RoutingKey}' (basic.nack: an internal error of the broker or of the queue); it does not have it.")));
        return Task.CompletedTask;
    }

    private Task OnReturnAsync(object sender, BasicReturnEventArgs e)
    {
        var match = _outstanding.OrderBy(o => o.Key).Select(o => o.Value)
            .FirstOrDefault(o => !o.Returned && o.RoutingKey == e.RoutingKey && o.CorrelationId == e.BasicProperties.CorrelationId);
        if (match is not null) match.Returned = true;
        return Task.CompletedTask;
    }

    private Task OnShutdownAsync(object sender, ShutdownEventArgs e)
    {
        var error = new BrokerException(
            $"RabbitMQ at {_options.Display} closed the publishing channel ({e.ReplyCode} {e.ReplyText}) before confirming the message; it may or may not have it.");
        foreach (var sequence in _outstanding.Keys)
        {
            if (_outstanding.TryRemove(sequence, out var outstanding))
            {
                outstanding.Completion.TrySetException(error);
                _window.Release();
            }
        }
        return Task.CompletedTask;
    }

    private void Complete(ulong tag, bool multiple, Action<Outstanding> complete)
    {
        if (!multiple)
        {
            if (_outstanding.TryRemove(tag, out var one))
            {
                complete(one);
                _window.Release();
            }
            return;
        }
        foreach (var sequence in _outstanding.Keys)
        {
            if (sequence <= tag && _outstanding.TryRemove(sequence, out var outstanding))
            {
                complete(outstanding);
                _window.Release();
            }
        }
    }

    private sealed class Outstanding(string routingKey, string? correlationId)
    {
        public string RoutingKey { get; } = routingKey;

        public string? CorrelationId { get; } = correlationId;

        public bool Returned { get; set; }

        public TaskCompletionSource<Outcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
