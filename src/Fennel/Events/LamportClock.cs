namespace Fennel.Events;

/// <summary>
/// The Lamport clock Celery puts on events (<c>clock</c>) and control messages (the <c>clock</c> header): every send
/// moves it forward by one, and every message received with a clock moves it past that value, so a receiver can order
/// what different nodes did without trusting their wall clocks. One per process, shared by events and control.
/// </summary>
public sealed class LamportClock
{
    private long _value;

    /// <summary>The current value, without moving it.</summary>
    public long Value => Volatile.Read(ref _value);

    /// <summary>Moves the clock forward for something this process sends, and returns the value to send with it.</summary>
    public long Forward() => Interlocked.Increment(ref _value);

    /// <summary>
    /// Moves the clock past a value received from another node (<c>max(local, received) + 1</c>) and returns the new value.
    /// </summary>
    public long Adjust(long received)
    {
        while (true)
        {
            var current = Volatile.Read(ref _value);
            var next = Math.Max(current, received) + 1;
            if (Interlocked.CompareExchange(ref _value, next, current) == current) return next;
        }
    }
}
