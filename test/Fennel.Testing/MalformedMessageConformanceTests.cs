using System.Text;
using System.Text.Json.Nodes;
using Fennel.Tasks;
using Fennel.Transport;
using Xunit;

namespace Fennel.Testing;

/// <summary>
/// What a real worker does with messages a broker holds but nobody can read, on every transport: each is dead-lettered
/// with its reason (never held, never retried forever, never a failed fetch), and the valid task behind them runs.
/// A transport's test project subclasses this, says how to reach a fresh broker, and puts the bad messages straight onto
/// it, as a foreign or broken producer would.
/// </summary>
public abstract class MalformedMessageConformanceTests
{
    /// <summary>How long the worker may take to dead-letter the three and run the fourth.</summary>
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    /// <summary>The broker URL the app and its worker use.</summary>
    protected abstract string BrokerUrl { get; }

    /// <summary>Puts bytes on <paramref name="queue"/> exactly as given, in kombu's stored form or not.</summary>
    protected abstract Task PutStoredAsync(ITransport transport, string queue, byte[] stored);

    /// <summary>A message whose JSON has one property twice (the task id, in the headers). Returns what the reason names.</summary>
    protected virtual async Task<string> PutDuplicateKeysAsync(ITransport transport, string queue)
    {
        await PutStoredAsync(transport, queue, Envelope(queue, "\"id\": \"dup-1\", \"task\": \"tests.echo\", \"id\": \"dup-2\"",
            Convert.ToBase64String("[[1], {}, {}]"u8)));
        return "Duplicate property 'id'";
    }

    /// <summary>A message whose body is not what its encoding says (kombu's base64). Returns what the reason names.</summary>
    protected virtual async Task<string> PutUndecodableBodyAsync(ITransport transport, string queue)
    {
        await PutStoredAsync(transport, queue, Envelope(queue, "\"id\": \"b64-1\", \"task\": \"tests.echo\"", "%%% not base64 %%%"));
        return "not base64";
    }

    /// <summary>
    /// A message nested 10,000 deep: its arguments, so the envelope around it is one every broker and its scripts can
    /// hold (Redis's fetch script reads envelopes with cjson, which gives up at 1,000 levels and would dead-letter the
    /// message itself). Returns what the reason names.
    /// </summary>
    protected virtual async Task<string> PutDeeplyNestedAsync(ITransport transport, string queue)
    {
        await PutStoredAsync(transport, queue, Envelope(queue, "\"id\": \"deep-1\", \"task\": \"tests.echo\"",
            Convert.ToBase64String(DeeplyNestedBody)));
        return "depth";
    }

    /// <summary>A task body <c>[[[[...]]], {}, {}]</c> whose arguments nest 10,000 deep.</summary>
    protected static byte[] DeeplyNestedBody => Encoding.UTF8.GetBytes("[" + new string('[', 10_000) + new string(']', 10_000) + ", {}, {}]");

    /// <summary>A kombu envelope written by hand (the one encoder cannot write a malformed one).</summary>
    protected static byte[] Envelope(string queue, string headers, string body) => Encoding.UTF8.GetBytes(
        "{\"body\": \"" + body + "\", \"content-encoding\": \"utf-8\", \"content-type\": \"application/json\", \"headers\": {" + headers
        + "}, \"properties\": {\"delivery_mode\": 2, \"delivery_info\": {\"exchange\": \"\", \"routing_key\": \"" + queue
        + "\"}, \"priority\": 0, \"body_encoding\": \"base64\", \"delivery_tag\": \"" + Guid.NewGuid() + "\"}}");

    [Fact]
    public async Task Unreadable_messages_are_dead_lettered_with_their_reasons_and_the_valid_task_behind_them_runs()
    {
        var queue = $"malformed-{Guid.NewGuid():N}";
        var builder = FennelApp.CreateBuilder(["--loglevel", "warning"]);
        builder.Configure(o =>
        {
            o.BrokerUrl = BrokerUrl;
            o.Worker.Queues = [queue];
            o.Worker.Concurrency = 2;
            o.Worker.Mingle = false;
            o.Worker.ShutdownTimeout = TimeSpan.FromSeconds(5);
        });
        await using var app = builder.Build();
        var echo = app.Task<int, int>("tests.echo", (int x) => x);
        await app.Transport.DeclareQueueAsync(queue);

        // In this order, before the worker starts, so it meets the three before the valid task.
        var reasons = new[]
        {
            await PutDuplicateKeysAsync(app.Transport, queue),
            await PutUndecodableBodyAsync(app.Transport, queue),
            await PutDeeplyNestedAsync(app.Transport, queue),
        };
        var valid = await echo.DelayAsync(42, new CallOptions { Queue = queue });

        await using var worker = app.CreateWorker();
        await worker.StartAsync();
        var until = DateTime.UtcNow + Deadline;

        Assert.Equal(42, await valid.GetAsync(Deadline));
        var store = Assert.IsAssignableFrom<IDeadLetterStore>(app.Transport);
        IReadOnlyList<DeadLetter> letters;
        while (true)
        {
            letters = [.. (await store.ListDeadLettersAsync(1000)).Where(l => l.Queue == queue)];
            if (letters.Count >= reasons.Length || DateTime.UtcNow > until) break;
            await Task.Delay(20);
        }
        Assert.True(letters.Count == reasons.Length,
            $"expected {reasons.Length} dead letters within {Deadline.TotalSeconds} s, got {letters.Count}: {string.Join(" | ", letters.Select(l => l.Reason))}");
        foreach (var reason in reasons)
        {
            Assert.Contains(letters, l => l.Reason.StartsWith("malformed message", StringComparison.Ordinal)
                && l.Reason.Contains(reason, StringComparison.OrdinalIgnoreCase));
        }
        Assert.Equal(0, await app.Transport.GetQueueLengthAsync(queue));
    }
}
