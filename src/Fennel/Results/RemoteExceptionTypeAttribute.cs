namespace Fennel.Results;

/// <summary>
/// Names the exception type that peers in other languages see when a task throws this exception: the <c>exc_type</c>
/// and <c>exc_module</c> of Celery's stored result. Without it a .NET exception is stored under its own type name and
/// namespace (<c>InvalidOperationException</c>, <c>System</c>).
/// </summary>
/// <remarks>
/// A Python client rebuilds <c>builtins</c> exceptions as the real Python type, so a task that must fail the way its
/// Python twin does declares, for example, <c>[RemoteExceptionType("ValueError", "builtins")]</c> on its exception class
/// and stores <c>{"exc_type": "ValueError", "exc_message": [message], "exc_module": "builtins"}</c>.
/// The attribute is not inherited: a subclass is stored under its own name unless it declares one too.
/// </remarks>
/// <param name="type">The remote type name, e.g. <c>ValueError</c>.</param>
/// <param name="module">The remote module, e.g. <c>builtins</c>.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class RemoteExceptionTypeAttribute(string type, string module) : Attribute
{
    /// <summary>The remote type name (<c>exc_type</c>), e.g. <c>ValueError</c>.</summary>
    public string Type { get; } = !string.IsNullOrWhiteSpace(type) ? type : throw new ArgumentException("The remote exception type must not be empty.", nameof(type));

    /// <summary>The remote module (<c>exc_module</c>), e.g. <c>builtins</c>.</summary>
    public string Module { get; } = !string.IsNullOrWhiteSpace(module) ? module : throw new ArgumentException("The remote exception module must not be empty.", nameof(module));
}
