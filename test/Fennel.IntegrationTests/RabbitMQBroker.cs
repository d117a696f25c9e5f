using System.Globalization;
using System.Text;
using Fennel.RabbitMQ;
using Fennel.Testing.Servers;
using RabbitMQ.Client;

namespace Fennel.IntegrationTests;

/// <summary>A queue of the test vhost as <c>rabbitmqctl list_queues</c> shows it.</summary>
internal sealed record QueueRow(string Name, long Ready, long Unacknowledged);

/// <summary>
/// Looking into the RabbitMQ node from a test, in the vhost <c>integration</c>: its queues, what they still hold, a clean
/// vhost to start from, and a broker restart.
/// </summary>
internal static class RabbitMQBroker
{
    public const string VirtualHost = "integration";

    public static string Url => RabbitMQTestServer.Url(VirtualHost);

    /// <summary>Every queue of the vhost with its ready and unacknowledged counts (one rabbitmqctl call, about half a second).</summary>
    public static IReadOnlyList<QueueRow> ListQueues()
    {
        var output = RabbitMQTestServer.Rabbitmqctl("--quiet", "list_queues", "-p", VirtualHost, "--no-table-headers",
            "name", "messages_ready", "messages_unacknowledged");
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('\t'))
            .Where(parts => parts.Length == 3)
            .Select(parts => new QueueRow(parts[0], long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture)))];
    }

    /// <summary>Deletes every queue of the vhost, so a test starts with no messages, delay, lease or dead-letter queues.</summary>
    public static async Task ResetAsync()
    {
        var queues = ListQueues();
        if (queues.Count == 0) return;
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var queue in queues) await channel.QueueDeleteAsync(queue.Name, ifUnused: false, ifEmpty: false);
    }

    /// <summary>
    /// The task ids of every task message the broker holds: in task queues (<paramref name="queue"/>) and in Fennel's lease
    /// and delay queues. Waits first until nothing is unacknowledged (a killed consumer's messages are back), then reads
    /// with basic.get and closes the channel without acking, which puts every message back in its place. They come back
    /// flagged as redelivered, so the next Fennel consumer counts one more lost delivery for each: the tests that call this
    /// do not assert delivery counts.
    /// </summary>
    public static async Task<HashSet<string>> ReadUnacknowledgedTaskIdsAsync(string queue = "celery")
    {
        IReadOnlyList<QueueRow> queues = [];
        await Eventually.HoldsAsync(() => (queues = ListQueues()).All(q => q.Unacknowledged == 0),
            () => $"no message unacknowledged: {string.Join(", ", queues.Where(q => q.Unacknowledged > 0))}", TimeSpan.FromSeconds(30));
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = await ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var row in queues.Where(q => q.Name == queue || q.Name.StartsWith("fennel.lease.", StringComparison.Ordinal)
            || q.Name.StartsWith("fennel.delayed.", StringComparison.Ordinal)))
        {
            while (await channel.BasicGetAsync(row.Name, autoAck: false) is { } message)
            {
                ids.Add(TaskId(message.BasicProperties));
            }
        }
        await channel.CloseAsync();
        return ids;
    }

    /// <summary>
    /// Makes the node enforce its consumer_timeout within a second: RabbitMQ checks it on each channel's tick, every
    /// <c>channel_tick_interval</c> (60 s by default), so a 20 s timeout would otherwise close a channel anywhere from 20
    /// to 80 s. Channels opened afterwards tick every second.
    /// </summary>
    public static void TickChannelsEverySecond() =>
        RabbitMQTestServer.Rabbitmqctl("eval", "application:set_env(rabbit, channel_tick_interval, 1000).");

    /// <summary>Restarts the RabbitMQ application on the node (stop_app, start_app): durable queues and persistent messages survive.</summary>
    public static (DateTime Stopping, DateTime Stopped, DateTime Started) Restart()
    {
        var stopping = DateTime.UtcNow;
        RabbitMQTestServer.Rabbitmqctl("stop_app");
        var stopped = DateTime.UtcNow;
        RabbitMQTestServer.Rabbitmqctl("start_app");
        return (stopping, stopped, DateTime.UtcNow);
    }

    private static string TaskId(IReadOnlyBasicProperties properties) =>
        properties.Headers?.TryGetValue("id", out var id) == true && id is byte[] bytes
            ? Encoding.UTF8.GetString(bytes)
            : throw new InvalidOperationException("A task message without an 'id' header (Celery message protocol 2).");

    private static Task<IConnection> ConnectAsync()
    {
        var options = RabbitMQOptions.Parse(Url);
        return new ConnectionFactory
        {
            HostName = options.Host,
            Port = options.Port,
            VirtualHost = options.VirtualHost,
            UserName = options.User,
            Password = options.Password,
        }.CreateConnectionAsync();
    }
}
