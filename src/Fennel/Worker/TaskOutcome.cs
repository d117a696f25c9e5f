using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Results;

namespace Fennel.Worker;

/// <summary>How one run of a task ended; the worker (or eager mode) turns it into a stored result and a settled message.</summary>
internal abstract record TaskOutcome(double Seconds)
{
    /// <summary>It returned a value.</summary>
    public sealed record Succeeded(JsonNode? Value, double Seconds) : TaskOutcome(Seconds);

    /// <summary>It threw, hit a time limit, or ran out of retries.</summary>
    public sealed record Failed(RemoteException Error, Exception? Exception, double Seconds) : TaskOutcome(Seconds);

    /// <summary>It asked for a retry: <paramref name="Next"/> is the message to publish (same id, retries + 1).</summary>
    public sealed record Retried(TaskMessage Next, TimeSpan Delay, int MaxRetries, RemoteException Reason, double Seconds) : TaskOutcome(Seconds)
    {
        /// <summary>The message a retry of <paramref name="message"/> publishes: same id, <c>retries + 1</c>, <c>parent_id</c> = itself, due at <paramref name="eta"/>.</summary>
        public static TaskMessage NextOf(TaskMessage message, DateTimeOffset eta) =>
            message with { Retries = message.Retries + 1, Eta = eta, ParentId = message.Id };
    }

    /// <summary>It expired before it could run.</summary>
    public sealed record Expired(double Seconds) : TaskOutcome(Seconds);

    /// <summary>It was revoked while running (terminate): it ends REVOKED with <paramref name="Reason"/> (<c>terminated</c>).</summary>
    public sealed record Revoked(string Reason, double Seconds) : TaskOutcome(Seconds);

    /// <summary>
    /// The child process running it was lost without an answer (process pool: a crash, <c>Environment.FailFast</c>, a kill
    /// by someone else, the OOM killer). The worker runs it again, counting the loss as a delivery, up to the delivery limit.
    /// </summary>
    public sealed record Lost(string Reason, double Seconds) : TaskOutcome(Seconds);

    /// <summary>A cold shutdown interrupted it; nothing may be recorded or acknowledged.</summary>
    public sealed record Interrupted(double Seconds) : TaskOutcome(Seconds);
}
