namespace Fennel.Redis;

/// <summary>
/// Wakes waiting fetches: <see cref="Fire"/> completes the task every waiter took from <see cref="Next"/>. A waiter takes
/// <see cref="Next"/> before it looks for messages, so a wake-up between looking and waiting is never missed.
/// </summary>
internal sealed class WakeUp
{
    private TaskCompletionSource _next = NewSource();

    public Task Next => Volatile.Read(ref _next).Task;

    public void Fire() => Interlocked.Exchange(ref _next, NewSource()).TrySetResult();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
