namespace Fennel.Tasks;

/// <summary>
/// The message's arguments do not fit the task's parameters: wrong count, unknown keyword, wrong type.
/// Python's <c>TypeError</c> on the wire. Such a message is dead-lettered with this message as the reason.
/// </summary>
public sealed class TaskArgumentException(string message, Exception? innerException = null) : FennelException(message, innerException);
