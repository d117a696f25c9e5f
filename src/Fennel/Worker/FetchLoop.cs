using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Worker;

/// <summary>
/// Where a task's life in the worker begins: takes free prefetch slots from <see cref="HeldMessages"/>, fetches that
/// many messages under a lease, holds them, and hands each to the <see cref="Dispatcher"/> — or, for a message that may
/// be what keeps killing its workers, runs it alone. Survives the broker going away (growing pauses) and shows it is
/// alive (<see cref="LastActivity"/>) for liveness checks and the systemd watchdog.
/// </summary>
internal sealed class FetchLoop(ITransport transport, HeldMessages held, Dispatcher dispatcher, Runners runners,
    Func<IReadOnlyList<string>> queues, WorkerOptions options, string brokerUrl, TimeProvider time, ILogger logger, string node)
{
    private static readonly TimeSpan FetchWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan IsolationPoll = TimeSpan.FromMilliseconds(20);
    private long _ticks;

    /// <summary>When the loop last went round (UTC), or null before it first did: see <see cref="Worker.LastFetchLoopActivity"/>.</summary>
    public DateTimeOffset? LastActivity => Interlocked.Read(ref _ticks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>Fetches and dispatches until <paramref name="stop"/>.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!stop.IsCancellationRequested)
        {
            var taken = 0;
            try
            {
                Touch();
                var consumed = queues();
                if (consumed.Count == 0)
                {
                    await Task.Delay(FetchWait, time, stop).ConfigureAwait(false); // every queue cancelled: idle until one is added
                    continue;
                }
                // Every prefetch slot may be held by long tasks: wait in short steps, so the loop is seen alive meanwhile.
                while (!await held.WaitForSlotAsync(FetchWait, stop).ConfigureAwait(false)) Touch();
                taken = 1;
                while (taken < held.Prefetch && held.TryTakeSlot()) taken++;
                var deliveries = await transport.FetchAsync(consumed, taken, options.LeaseDuration, FetchWait, stop).ConfigureAwait(false);
                Touch();
                held.Hold(deliveries);
                if (taken > deliveries.Count) held.ReturnSlots(taken - deliveries.Count);
                taken = 0;
                backoff = TimeSpan.FromSeconds(1);
                if (deliveries.FirstOrDefault(IsSuspect) is { } suspect) await RunAloneAsync(suspect, deliveries, stop).ConfigureAwait(false);
                else foreach (var delivery in deliveries) await dispatcher.DispatchAsync(delivery).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                if (taken > 0) held.ReturnSlots(taken);
                break;
            }
            catch (Exception ex)
            {
                // The broker is down or refused: nothing was taken, so nothing is lost. Try again with a growing pause.
                if (taken > 0) held.ReturnSlots(taken);
                Log.FetchFailed(logger, node, brokerUrl, backoff.TotalSeconds, ex);
                try
                {
                    await PauseAliveAsync(backoff, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    /// <summary>
    /// A message whose workers were lost at least twice (or once, when the next loss would reach the delivery limit): it
    /// may be what takes them down (a poison task that crashes its process). It runs alone, so that if it does so again, no
    /// other task is lost with it and counted: over the limit, ordinary tasks would be dead-lettered with the poison. A
    /// first redelivery (a worker killed once, a deploy) runs as usual, so recovering from one crash stays fast.
    /// </summary>
    private bool IsSuspect(Delivery delivery) =>
        delivery.DeliveryCount > 1 && delivery.DeliveryCount <= options.MaxDeliveries
        && (delivery.DeliveryCount >= 3 || delivery.DeliveryCount == options.MaxDeliveries);

    /// <summary>
    /// Gives back every unstarted message (the rest of this fetch and those queued for the runners, not counted as
    /// deliveries), waits for the running tasks to finish, runs <paramref name="suspect"/>, and fetches nothing until it
    /// is settled. Other suspects in the fetch come back one at a time.
    /// </summary>
    private async Task RunAloneAsync(Delivery suspect, IReadOnlyList<Delivery> fetched, CancellationToken stop)
    {
        Log.RunningAlone(logger, suspect.DeliveryTag, suspect.Queue, suspect.DeliveryCount, options.MaxDeliveries, node);
        var pushing = transport as IPrefetchingTransport;
        if (pushing is not null) await pushing.HoldOnlyLeasedAsync(alone: true, CancellationToken.None).ConfigureAwait(false);
        try
        {
            await RunAloneCoreAsync(suspect, fetched, stop).ConfigureAwait(false);
        }
        finally
        {
            if (pushing is not null) await pushing.HoldOnlyLeasedAsync(alone: false, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task RunAloneCoreAsync(Delivery suspect, IReadOnlyList<Delivery> fetched, CancellationToken stop)
    {
        foreach (var other in fetched)
        {
            if (!ReferenceEquals(other, suspect)) await held.ReleaseAsync(other, "make room for a redelivered task").ConfigureAwait(false);
        }
        await dispatcher.ReturnQueuedAsync("make room for a redelivered task").ConfigureAwait(false);
        try
        {
            while (runners.Running > 0)
            {
                Touch();
                await Task.Delay(IsolationPoll, time, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            await held.ReleaseAsync(suspect, "return unstarted").ConfigureAwait(false);
            throw;
        }
        await dispatcher.DispatchAsync(suspect).ConfigureAwait(false);
        // Until it is settled (or waits for its ETA): a shutdown meanwhile lets it finish like any running task.
        while (held.Contains(suspect.DeliveryTag) && !dispatcher.IsWaiting(suspect.DeliveryTag))
        {
            Touch();
            await Task.Delay(IsolationPoll, time, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Notes that the loop went round.</summary>
    private void Touch() => Interlocked.Exchange(ref _ticks, time.GetUtcNow().UtcTicks);

    /// <summary>Waits <paramref name="pause"/> (the broker retry back-off) in steps of at most <see cref="FetchWait"/>, alive.</summary>
    private async Task PauseAliveAsync(TimeSpan pause, CancellationToken stop)
    {
        var until = time.GetUtcNow() + pause;
        for (var left = pause; left > TimeSpan.Zero; left = until - time.GetUtcNow())
        {
            Touch();
            await Task.Delay(left < FetchWait ? left : FetchWait, time, stop).ConfigureAwait(false);
        }
    }
}
