namespace Fennel.Tasks;

/// <summary>
/// Marks a task handler parameter as sensitive: its value is shown as <c>'***'</c> wherever Fennel shows arguments —
/// the <c>argsrepr</c> / <c>kwargsrepr</c> headers a Fennel client sends (so Python workers and Flower show the redaction
/// too), <c>task-sent</c> and <c>task-received</c> events, and log lines. The value itself still travels in the message
/// body to the worker that runs the task. <see cref="TaskOptions.SensitiveArguments"/> does the same by name.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class SensitiveAttribute : Attribute;
