using System.Collections.Concurrent;
using Fennel.Transport;

namespace Fennel.Worker;

// The task requests the worker holds, for the active / reserved / scheduled inspections and stats' totals: tracked from
// dispatch until the message is settled (acked, released, dead-lettered).
public sealed partial class Worker
{
    private readonly ConcurrentDictionary<string, TrackedRequest> _requests = new(StringComparer.Ordinal);

    /// <summary>The requests held now.</summary>
    internal IReadOnlyList<TrackedRequest> TrackedRequests() => [.. _requests.Values];

    private void TrackReceived(TaskJob job) => _requests[job.Delivery.DeliveryTag] = new TrackedRequest(job);

    /// <summary>A runner took the job: it is active, and counts in <c>stats</c>' <c>total</c> (Celery counts on accept).</summary>
    private void TrackStarted(TaskJob job)
    {
        _totals.AddOrUpdate(job.Message.Task, 1, (_, n) => n + 1);
        if (_requests.TryGetValue(job.Delivery.DeliveryTag, out var request)) request.Start(_time.GetUtcNow());
    }

    private void Untrack(Delivery delivery) => _requests.TryRemove(delivery.DeliveryTag, out _);
}
