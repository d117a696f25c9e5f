using System.Diagnostics;
using System.Globalization;
using Fennel.Bench.Brokers;
using Fennel.Bench.Measuring;
using Fennel.Bench.Processes;
using Fennel.Tasks;
using RabbitMQ.Client;

namespace Fennel.Bench.Raw;

/// <summary>
/// The ceiling column on RabbitMQ: RabbitMQ.Client 7 with nothing of Fennel's or Celery's around it. Publishing is
/// this process with publisher confirms (the client's own tracking, a window of messages in flight); consuming is
/// <see cref="RawConsumeCommand"/> in a process of its own, drained and timed like a worker. The messages are copies
/// of a real Fennel <c>bench.noop</c> message (same body, headers and properties, persistent), so their size is a
/// Celery task's.
/// </summary>
internal sealed class RawBench(BenchSettings settings, RabbitMQNode node, RunLog log)
{
    private const string Queue = "bench.raw";
    private const string WarmupQueue = "bench.raw.warmup";

    public async Task<RawResult> RunAsync(CancellationToken cancellationToken)
    {
        await node.ResetAsync();
        var (properties, body) = await TemplateAsync(cancellationToken);
        await using var connection = await RabbitMQNode.ConnectAsync(node.Url, cancellationToken, "fennel-bench-raw-publisher");
        var options = new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: null); // the window is kept below, without the client's throttling
        await using var channel = await connection.CreateChannelAsync(options, cancellationToken);
        foreach (var queue in new[] { Queue, WarmupQueue })
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
        }
        log.Detail($"message: {body.Length} bytes of body, {properties.Headers?.Count ?? 0} headers, delivery mode {(int)properties.DeliveryMode}");

        log.Step($"Raw RabbitMQ.Client: publish {settings.EnqueueCount}, each confirm awaited");
        await WarmUpAsync(() => PublishAsync(channel, WarmupQueue, properties, body, 100, window: 1, cancellationToken), channel, cancellationToken);
        var single = await MeasureAsync("BasicPublishAsync, each confirm awaited", () => PublishAsync(channel, Queue, properties, body, settings.EnqueueCount, 1, cancellationToken), settings.EnqueueCount);
        log.Result(single);
        await node.ResetAsync();
        var windowed = $"BasicPublishAsync, confirms in a window of {settings.RawConfirmWindow}";
        log.Step($"Raw RabbitMQ.Client: publish {settings.EnqueueCount}, confirms in a window of {settings.RawConfirmWindow}");
        await WarmUpAsync(() => PublishAsync(channel, WarmupQueue, properties, body, settings.RawConfirmWindow * 4, settings.RawConfirmWindow, cancellationToken),
            channel, cancellationToken);
        var bulk = await MeasureAsync(windowed, () => PublishAsync(channel, Queue, properties, body, settings.EnqueueCount, settings.RawConfirmWindow, cancellationToken),
            settings.EnqueueCount);
        log.Result(bulk);
        await node.ResetAsync();

        var drains = new List<DrainResult>();
        foreach (var ackEvery in settings.RawAckEvery)
        {
            var fill = await MeasureAsync(windowed, () => PublishAsync(channel, Queue, properties, body, settings.Tasks, settings.RawConfirmWindow, cancellationToken),
                settings.Tasks);
            var queued = await node.QueueLengthAsync(Queue);
            if (queued != settings.Tasks) throw new InvalidOperationException($"The queue '{Queue}' holds {queued} messages after the fill, not {settings.Tasks}.");
            var configuration = $"prefetch {settings.RawPrefetch}, " + (ackEvery == 1 ? "each ack alone" : $"ack multiple every {ackEvery}");
            log.Step($"Raw RabbitMQ.Client: drain {settings.Tasks}, consumer {configuration} (queue filled at {fill.Rate:N0} tasks/s)");
            var (drain, consumer) = await DrainMeasurement.RunAsync(configuration, fill, probe => StartConsumer(ackEvery, probe),
                () => node.QueueLengthAsync(Queue), node, settings.DrainTimeout, cancellationToken);
            await using (consumer)
            {
                log.Result(drain);
                drains.Add(drain);
                await consumer.StopAsync(TimeSpan.FromSeconds(30));
            }
            await node.ResetAsync();
        }
        return new RawResult(single, [bulk, .. drains.Select(d => d.Fill)], drains, body.Length);
    }

    /// <summary>A real Fennel bench.noop message: sent by a Fennel client to <see cref="Queue"/>, then taken back with basic.get.</summary>
    private async Task<(BasicProperties Properties, byte[] Body)> TemplateAsync(CancellationToken cancellationToken)
    {
        var (app, tasks) = BenchApp.Build(["-b", node.FennelBroker, "--result-backend", node.FennelResults, "-l", "warning"]);
        await using (app)
        {
            await tasks.NoOp.DelayAsync(new CallOptions { Queue = Queue }, cancellationToken);
        }
        await using var connection = await RabbitMQNode.ConnectAsync(node.Url, cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        var got = await channel.BasicGetAsync(Queue, autoAck: true, cancellationToken)
            ?? throw new InvalidOperationException($"The Fennel client's bench.noop message did not reach '{Queue}'.");
        return (new BasicProperties(got.BasicProperties), got.Body.ToArray());
    }

    /// <summary>
    /// Publishes <paramref name="count"/> copies, mandatory, with at most <paramref name="window"/> awaiting their
    /// confirm: the oldest is awaited before the next is sent past the window.
    /// </summary>
    private static async Task PublishAsync(IChannel channel, string queue, BasicProperties properties, byte[] body, int count, int window,
        CancellationToken cancellationToken)
    {
        var inFlight = new Task[window];
        for (var i = 0; i < count; i++)
        {
            if (inFlight[i % window] is { } oldest) await oldest;
            inFlight[i % window] = channel.BasicPublishAsync("", queue, mandatory: true, properties, body, cancellationToken).AsTask();
        }
        foreach (var task in inFlight) if (task is not null) await task;
    }

    private static async Task<EnqueueResult> MeasureAsync(string method, Func<Task> publish, int count)
    {
        var started = Stopwatch.GetTimestamp();
        await publish();
        return new EnqueueResult(method, count, Stopwatch.GetElapsedTime(started));
    }

    private async Task WarmUpAsync(Func<Task> round, IChannel channel, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < settings.Warmup)
        {
            await round();
            await channel.QueuePurgeAsync(WarmupQueue, cancellationToken);
        }
    }

    private ChildProcess StartConsumer(int ackEvery, string probe)
    {
        var (fileName, arguments) = BenchProgram.Command(RawConsumeCommand.Name, "--url", node.Url, "--queue", Queue,
            "--prefetch", Text(settings.RawPrefetch), "--ack-every", Text(ackEvery));
        var environment = new Dictionary<string, string>
        {
            [DrainProbe.PathVariable] = probe,
            [DrainProbe.ExpectedVariable] = Text(settings.Tasks),
        };
        return ChildProcess.Start($"raw consumer ack every {ackEvery}", fileName, arguments, environment, Path.GetTempPath());
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The ceiling column: RabbitMQ.Client alone.</summary>
/// <param name="Single">Publish one at a time, each confirm awaited.</param>
/// <param name="WindowSamples">Publish with confirms in a window: the measurement, then each drain's fill.</param>
/// <param name="Drains">One consumer drain per ack mode.</param>
/// <param name="BodyBytes">The message body's size (a Fennel bench.noop message's).</param>
internal sealed record RawResult(EnqueueResult Single, IReadOnlyList<EnqueueResult> WindowSamples, IReadOnlyList<DrainResult> Drains, int BodyBytes)
{
    /// <summary>The drain with each message acked on its own, as Fennel acks: the ceiling the 70 % target refers to.</summary>
    public DrainResult? AckEachDrain => Drains.FirstOrDefault(d => d.Configuration.EndsWith("each ack alone", StringComparison.Ordinal));
}
