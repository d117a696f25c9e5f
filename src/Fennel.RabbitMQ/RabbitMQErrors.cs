using System.Net.Sockets;
using RabbitMQ.Client.Exceptions;

namespace Fennel.RabbitMQ;

/// <summary>Turns RabbitMQ.Client failures into <see cref="BrokerException"/>s that name the server and the operation.</summary>
internal static class RabbitMQErrors
{
    /// <summary>True for failures of the client, the connection or the server (not for cancellation or our own bugs).</summary>
    public static bool IsRabbit(Exception exception) =>
        exception is RabbitMQClientException or OperationInterruptedException or IOException or SocketException or TimeoutException
            or System.Security.Authentication.AuthenticationException;

    public static BrokerException Wrap(Exception exception, RabbitMQOptions options, string operation)
    {
        ArgumentNullException.ThrowIfNull(exception);
        // A refused login or a missing vhost does not heal by retrying; everything else (a restart, a cut) may.
        var permanent = exception is AuthenticationFailureException or System.Security.Authentication.AuthenticationException
            || exception is BrokerUnreachableException { InnerException: AuthenticationFailureException }
            || exception is OperationInterruptedException { ShutdownReason.ReplyCode: 403 or 406 or 404 or 530 };
        var why = exception is BrokerUnreachableException unreachable && unreachable.InnerException is { } inner
            ? $"{exception.Message} ({inner.Message})"
            : exception.Message;
        return new BrokerException($"RabbitMQ at {options.Display} failed to {operation}: {why}", exception, !permanent);
    }

    /// <summary>Awaits <paramref name="task"/>, wrapping client failures.</summary>
    public static async Task<T> Guard<T>(Task<T> task, RabbitMQOptions options, string operation)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (Exception e) when (IsRabbit(e))
        {
            throw Wrap(e, options, operation);
        }
    }

    /// <summary>Awaits <paramref name="task"/>, wrapping client failures.</summary>
    public static async Task Guard(Task task, RabbitMQOptions options, string operation)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e) when (IsRabbit(e))
        {
            throw Wrap(e, options, operation);
        }
    }
}
