namespace Fennel.Protocol;

/// <summary>
/// A message that cannot be understood: not JSON, not Celery protocol v2, an unsupported content type,
/// a header of the wrong type. Workers dead-letter such messages with <see cref="Exception.Message"/> as the reason.
/// </summary>
public sealed class MessageFormatException : FennelException
{
    /// <summary>Creates the exception.</summary>
    public MessageFormatException(string message, Exception? innerException = null) : base(message, innerException) { }
}
