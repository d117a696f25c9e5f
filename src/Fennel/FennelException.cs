namespace Fennel;

/// <summary>The base of every exception Fennel throws on purpose.</summary>
public class FennelException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FennelException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public FennelException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>
    /// True when trying the same operation again may succeed (a broker that is restarting, a busy database);
    /// false when it cannot succeed without a change (bad configuration, a malformed message).
    /// </summary>
    public virtual bool IsTransient => false;
}

/// <summary>Configuration that cannot work: a bad URL, an unknown option value, a missing transport.</summary>
public sealed class FennelConfigurationException(string message) : FennelException(message);

/// <summary>The broker or result store could not be reached or failed an operation.</summary>
public sealed class BrokerException(string message, Exception? innerException = null, bool isTransient = true)
    : FennelException(message, innerException)
{
    /// <inheritdoc />
    public override bool IsTransient { get; } = isTransient;
}
