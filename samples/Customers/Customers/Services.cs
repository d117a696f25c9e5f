using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Customers.Customers;

/// <summary>Sends mail. The sample logs instead of sending.</summary>
public interface IMailer
{
    Task SendAsync(string to, string subject, CancellationToken cancellationToken);
}

public sealed partial class LoggingMailer(ILogger<LoggingMailer> logger) : IMailer
{
    public Task SendAsync(string to, string subject, CancellationToken cancellationToken)
    {
        LogSent(logger, to, subject);
        return Task.CompletedTask;
    }

    [LoggerMessage(1, LogLevel.Debug, "Mail to {To}: {Subject}")]
    private static partial void LogSent(ILogger logger, string to, string subject);
}

/// <summary>Customer data. The sample keeps it in memory.</summary>
public interface ICustomerStore
{
    int AddPoints(int customerId, int points);
}

public sealed class InMemoryCustomerStore : ICustomerStore
{
    private readonly ConcurrentDictionary<int, int> _scores = new();

    public int AddPoints(int customerId, int points) => _scores.AddOrUpdate(customerId, 100 + points, (_, s) => s + points);
}
