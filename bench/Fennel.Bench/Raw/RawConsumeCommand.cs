using System.Globalization;
using Fennel.Bench.Brokers;
using Fennel.Cli.CommandLine;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Fennel.Bench.Raw;

/// <summary>
/// <c>amqp-consume</c>: RabbitMQ.Client 7 alone, the ceiling a Fennel worker on RabbitMQ is measured against. One
/// connection, one channel, one consumer with manual acks and a prefetch (<c>basic.qos</c>); each delivery counts in the
/// drain probe (as a task run does) and is acked, on its own or every Nth with <c>multiple=true</c>. The run starts it
/// as a separate process, as it starts a worker.
/// </summary>
internal static class RawConsumeCommand
{
    public const string Name = "amqp-consume";

    public static CommandSpec Spec { get; } = new(Name,
        "Consumes a RabbitMQ queue with RabbitMQ.Client alone (manual acks), counting deliveries in the drain probe; the bench's ceiling.",
        [
            new(["--url"], "The broker, amqp://user:pass@host:port/vhost", "URL"),
            new(["--queue"], "The queue to consume", "NAME"),
            new(["--prefetch"], "basic.qos prefetch count of the consumer (default 1000)", "N"),
            new(["--ack-every"], "1: ack each delivery alone; N: ack every Nth with multiple=true (default 1)", "N"),
        ],
        [], (_, command, cancellationToken) => RunAsync(command, cancellationToken));

    private static async Task<int> RunAsync(ParsedCommand command, CancellationToken cancellationToken)
    {
        var url = command.Get("url") ?? throw new UsageException("--url is required.");
        var queue = command.Get("queue") ?? throw new UsageException("--queue is required.");
        var prefetch = (ushort)Math.Min(ushort.MaxValue, command.GetInt("prefetch", min: 1) ?? 1000);
        var ackEvery = command.GetInt("ack-every", min: 1) ?? 1;
        var probe = DrainProbe.FromEnvironment(TimeProvider.System);

        await using var connection = await RabbitMQNode.ConnectAsync(url, cancellationToken, "fennel-bench-raw-consumer");
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.BasicQosAsync(0, prefetch, global: false, cancellationToken);
        var unacked = 0;
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            probe.Ran();
            // One consumer, dispatched one delivery at a time (the client's default): no lock needed.
            if (ackEvery == 1)
            {
                await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
            }
            else if (++unacked >= ackEvery || probe.Count == probe.Expected)
            {
                unacked = 0;
                await channel.BasicAckAsync(delivery.DeliveryTag, multiple: true);
            }
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer, cancellationToken);
        await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"raw consumer ready: queue {queue}, prefetch {prefetch}, ack every {ackEvery}"));
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // SIGTERM: close the channel; the broker takes back what was not acked.
        }
        return 0;
    }
}
