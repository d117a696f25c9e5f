using System.Text.Json;
using Fennel.Protocol;
using Fennel.Python;

namespace Fennel.Transport;

/// <summary>
/// What a dead letter says of its task when it parses as a task message: id, name and the arguments as Python reprs
/// (the message's own <c>argsrepr</c>/<c>kwargsrepr</c>, which hide sensitive values, else made from the arguments). All
/// null when it is not a task message, which is often why it was dead-lettered. Shared by the dashboard and the CLI.
/// </summary>
internal sealed record DeadLetterTask(string? TaskId, string? Task, string? Args, string? Kwargs)
{
    private static readonly DeadLetterTask None = new(null, null, null, null);

    /// <summary>Reads the task out of <paramref name="letter"/>'s body; never throws for a body that is not one.</summary>
    public static DeadLetterTask Read(DeadLetter letter)
    {
        ArgumentNullException.ThrowIfNull(letter);
        TaskMessage message;
        try
        {
            message = TaskEnvelope.Decode(letter.Body.Span).Message;
        }
        catch (Exception ex) when (ex is MessageFormatException or JsonException or InvalidOperationException or FormatException)
        {
            return None;
        }
        return new DeadLetterTask(message.Id, message.Task, message.ArgsRepr ?? PythonRepr.Args(message.Args),
            message.KwargsRepr ?? PythonRepr.Kwargs(message.Kwargs));
    }
}
