namespace Fennel.Transport;

/// <summary>Messages that could not be processed, kept with the reason. Nothing is dropped silently.</summary>
public interface IDeadLetterStore
{
    /// <summary>The newest dead letters first.</summary>
    Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>Puts a dead letter back on its queue (delivery count reset); false when it no longer exists.</summary>
    Task<bool> RequeueDeadLetterAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Deletes every dead letter; returns how many.</summary>
    Task<long> PurgeDeadLettersAsync(CancellationToken cancellationToken = default);
}

/// <summary>A message that was taken out of circulation.</summary>
/// <param name="Id">The dead letter's id in the store.</param>
/// <param name="Queue">The queue it came from.</param>
/// <param name="Body">The message as it was received.</param>
/// <param name="Reason">Why it was dead-lettered.</param>
/// <param name="DeadLetteredAt">When.</param>
/// <param name="DeliveryCount">How many times it had been delivered.</param>
public sealed record DeadLetter(string Id, string Queue, ReadOnlyMemory<byte> Body, string Reason, DateTimeOffset DeadLetteredAt, int DeliveryCount);
