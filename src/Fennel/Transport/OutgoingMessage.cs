namespace Fennel.Transport;

/// <summary>A message to publish.</summary>
/// <param name="Queue">The queue (routing key on the default exchange).</param>
/// <param name="Envelope">The message (a task's: <see cref="Protocol.TaskEnvelope.Create"/>).</param>
/// <param name="Priority">0..9; higher is served first on transports that order by priority.</param>
/// <param name="NotBefore">Invisible until this time on transports with <see cref="TransportCapabilities.DelayedPublish"/>; elsewhere visible at once (the ETA in the message still holds).</param>
/// <param name="MessageId">The task id, for logs and diagnostics.</param>
public sealed record OutgoingMessage(string Queue, MessageEnvelope Envelope, int Priority = 0, DateTimeOffset? NotBefore = null, string? MessageId = null);
