using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Fennel.RabbitMQ.Tests.Wire;

/// <summary>
/// A message published by py-amqp (Celery's client) with integers beyond ±2^31 in its headers, read through Fennel's
/// connection from the test run's RabbitMQ (<see cref="TestBroker"/>).
/// </summary>
public sealed class Int64HeaderTests
{
    [Fact]
    public async Task Py_amqp_L_header_no_longer_closes_the_connection_with_502_Unrecognised_type_in_table()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var options = TestBroker.Options();
        var queue = $"fennel.tests.int64-header.{Guid.NewGuid():N}";
        await PublishWithPyAmqpAsync(options, queue, deadline.Token);
        var logger = new RecordingLogger();
        await using var connection = new RabbitMQConnection(options, logger).AddUser();
        var shutdowns = new List<string>();
        (await connection.ConnectionAsync(deadline.Token)).ConnectionShutdownAsync += (_, e) =>
        {
            lock (shutdowns) shutdowns.Add($"{e.ReplyCode} {e.ReplyText}");
            return Task.CompletedTask;
        };
        await using var channel = await connection.CreateChannelAsync(deadline.Token);

        BasicGetResult? message;
        try
        {
            // Before the filter the client closed the connection on this message, and the get never returned.
            message = await channel.BasicGetAsync(queue, autoAck: true, deadline.Token).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"basic.get got no answer; the connection closed with: {string.Join("; ", shutdowns)}");
        }

        Assert.NotNull(message);
        var headers = message.BasicProperties.Headers!;
        Assert.Equal(1099511627776L, headers["x-big"]);
        Assert.Equal(-1099511627776L, Assert.IsAssignableFrom<IDictionary<string, object?>>(headers["x-nested"])["n"]);
        var list = Assert.IsAssignableFrom<IList<object?>>(headers["x-list"]);
        Assert.Equal(8589934592L, list[0]);
        Assert.Equal("a", Encoding.UTF8.GetString((byte[])list[1]!));
        Assert.Equal("{}", Encoding.UTF8.GetString(message.Body.Span));
        Assert.Null(await channel.BasicGetAsync(queue, autoAck: true, deadline.Token).WaitAsync(deadline.Token)); // the connection still answers
        Assert.Empty(shutdowns);
        Assert.True(channel.IsOpen);
        Assert.Equal(["x-big", "x-list", "x-nested"], logger.Rewritten.Order(StringComparer.Ordinal));
        await channel.QueueDeleteAsync(queue, cancellationToken: deadline.Token);
    }

    /// <summary>Publishes the message as Celery's AMQP client would, to a queue it declares (gone a minute after its last use).</summary>
    private static async Task PublishWithPyAmqpAsync(RabbitMQOptions options, string queue, CancellationToken cancellationToken)
    {
        const string script = """
            import sys, amqp
            host, user, password, vhost, queue = sys.argv[1:6]
            connection = amqp.Connection(host, userid=user, password=password, virtual_host=vhost)
            connection.connect()
            channel = connection.channel()
            channel.queue_declare(queue, auto_delete=False, arguments={'x-expires': 60000})
            headers = {'x-big': 2**40, 'x-nested': {'n': -2**40}, 'x-list': [2**33, 'a']}
            channel.basic_publish(amqp.Message(b'{}', content_type='application/json', application_headers=headers), exchange='', routing_key=queue)
            connection.close()
            """;
        var start = new ProcessStartInfo("/usr/bin/python3")
        {
            ArgumentList = { "-c", script, options.Endpoint, options.User, options.Password, options.VirtualHost, queue },
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var python = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start.");
        var errors = python.StandardError.ReadToEndAsync(cancellationToken);
        await python.WaitForExitAsync(cancellationToken);
        Assert.True(python.ExitCode == 0, $"publishing with py-amqp failed (exit {python.ExitCode}): {await errors}");
    }

    /// <summary>
    /// Keeps the headers <see cref="Log.Int64HeaderRewritten"/> reported (a warning the first time per process and header
    /// name, <see cref="Log.Int64HeaderRewrittenAgain"/> at debug level after that; tests share the process).
    /// </summary>
    private sealed class RecordingLogger : ILogger
    {
        public List<string> Rewritten { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id is not (7005 or 7015) || state is not IReadOnlyList<KeyValuePair<string, object?>> values) return;
            lock (Rewritten) Rewritten.Add((string)values.First(pair => pair.Key == "Header").Value!);
        }
    }
}
