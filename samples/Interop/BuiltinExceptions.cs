using Fennel.Results;

namespace Interop;

// Python's built-in exceptions that the contract tasks raise. Each declares the Python type it is stored as, so a
// Python client's AsyncResult rebuilds the real ValueError, TypeError, ... and the stored result is the one a Python
// worker writes: {"exc_type": "ValueError", "exc_message": [message], "exc_module": "builtins"}.

/// <summary>Python's <c>ValueError</c>: an argument of the right type with a wrong value.</summary>
[RemoteExceptionType("ValueError", "builtins")]
internal sealed class ValueError(string message) : Exception(message);

/// <summary>Python's <c>TypeError</c>: an operation on a value of the wrong type.</summary>
[RemoteExceptionType("TypeError", "builtins")]
internal sealed class TypeError(string message) : Exception(message);

/// <summary>Python's <c>OverflowError</c>: a number too large for what it must become.</summary>
[RemoteExceptionType("OverflowError", "builtins")]
internal sealed class OverflowError(string message) : Exception(message);

/// <summary>Python's <c>RuntimeError</c>: a failure that fits no other category.</summary>
[RemoteExceptionType("RuntimeError", "builtins")]
internal sealed class RuntimeError(string message) : Exception(message);
