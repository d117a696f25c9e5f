using System.Text.Json.Nodes;
using Fennel.Events;
using Fennel.Protocol;
using Fennel.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Tests.Events;

public class EventDispatcherTests
{
    private static TaskStartedEvent Started(string id) => new() { Hostname = "", Timestamp = 0, TaskId = id };

    [Fact]
    public async Task Envelope_is_the_one_Celery_publishes_events_in()
    {
        var vector = CeleryVectors.Load(Path.Combine(CeleryVectors.Root, "events", "redis", "task.multi.json"));
        var expected = vector["envelope"]!.AsObject();
        var broadcast = new FakeBroadcast();
        await using (var dispatcher = new EventDispatcher(broadcast, "w1@host", new LamportClock(), TimeProvider.System, NullLogger.Instance, batchTaskEvents: true))
        {
            dispatcher.Send(Started("t1"));
        }
        var (routingKey, body) = Assert.Single(broadcast.Sent);
        Assert.Equal("task.multi", routingKey);
        var envelope = JsonNode.Parse(body)!.AsObject();

        Assert.Equal(Keys(expected), Keys(envelope));
        Assert.Equal(Keys(expected["properties"]!), Keys(envelope["properties"]!));
        Assert.Equal(Keys(expected["properties"]!["delivery_info"]!), Keys(envelope["properties"]!["delivery_info"]!));
        foreach (var field in new[] { "content-type", "content-encoding" }) Assert.Equal(expected[field]!.ToJsonString(), envelope[field]!.ToJsonString());
        foreach (var field in new[] { "delivery_mode", "priority", "body_encoding" })
        {
            Assert.Equal(expected["properties"]![field]!.ToJsonString(), envelope["properties"]![field]!.ToJsonString());
        }
        Assert.Equal("celeryev", envelope["properties"]!["delivery_info"]!["exchange"]!.GetValue<string>());
        Assert.Equal("task.multi", envelope["properties"]!["delivery_info"]!["routing_key"]!.GetValue<string>());
        Assert.True(Guid.TryParse(envelope["properties"]!["delivery_tag"]!.GetValue<string>(), out _));
        Assert.Equal("""{"hostname":"w1@host"}""", envelope["headers"]!.ToJsonString());
        var e = Assert.Single(FakeBroadcast.Decode(body));
        Assert.IsType<TaskStartedEvent>(e);
        Assert.Equal("w1@host", e.Hostname);
        Assert.Equal(Environment.ProcessId, e.Pid);
        Assert.Equal(EventDispatcher.UtcOffset(TimeZoneInfo.Local, DateTimeOffset.UtcNow), e.UtcOffset);
        Assert.Equal(1, e.Clock);
        Assert.InRange(e.Time, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public void Utc_offset_is_Celerys_hours_west_of_UTC_rounded_down()
    {
        var at = new DateTimeOffset(2026, 1, 15, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(0, EventDispatcher.UtcOffset(TimeZoneInfo.Utc, at));
        Assert.Equal(5, EventDispatcher.UtcOffset(TimeZoneInfo.CreateCustomTimeZone("est", TimeSpan.FromHours(-5), "est", "est"), at));
        Assert.Equal(-1, EventDispatcher.UtcOffset(TimeZoneInfo.CreateCustomTimeZone("cet", TimeSpan.FromHours(1), "cet", "cet"), at));
        // India: time.timezone = -19800, and -19800 // 3600 == -6 in Python.
        Assert.Equal(-6, EventDispatcher.UtcOffset(TimeZoneInfo.CreateCustomTimeZone("ist", TimeSpan.FromMinutes(330), "ist", "ist"), at));
    }

    [Fact]
    public async Task Task_events_that_pile_up_during_a_send_go_out_together_as_task_multi_capped_per_message()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var broadcast = new FakeBroadcast
        {
            OnSend = async call =>
            {
                if (call != 1) return;
                entered.SetResult();
                await release.Task;
            },
        };
        await using (var dispatcher = new EventDispatcher(broadcast, "w1@host", new LamportClock(), TimeProvider.System, NullLogger.Instance,
            batchTaskEvents: true, flushTimeout: TimeSpan.FromSeconds(10)))
        {
            dispatcher.Send(Started("first"));
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
            for (var i = 0; i < 250; i++) dispatcher.Send(Started("burst" + i));
            dispatcher.Send(new WorkerHeartbeatEvent { Hostname = "", Timestamp = 0, Freq = 2.0 });
            dispatcher.Send(Started("after"));
            release.SetResult();
        }
        var sent = broadcast.Sent;
        Assert.Equal(["task.multi", "task.multi", "task.multi", "task.multi", "worker.heartbeat", "task.multi"], sent.Select(s => s.RoutingKey));
        Assert.Equal([1, 100, 100, 50, 1, 1], sent.Select(s => FakeBroadcast.Decode(s.Body).Count));
        Assert.StartsWith("[", EventText.Utf8(KombuEnvelope.Decode(sent[0].Body).Body), StringComparison.Ordinal); // a list even for one
        Assert.StartsWith("{", EventText.Utf8(KombuEnvelope.Decode(sent[4].Body).Body), StringComparison.Ordinal);
        // In the order sent, clock ticking once per event.
        var all = sent.SelectMany(s => FakeBroadcast.Decode(s.Body)).ToList();
        Assert.Equal(Enumerable.Range(1, 253).Select(i => (long?)i), all.Select(e => e.Clock));
    }

    [Fact]
    public async Task Events_the_broker_refuses_are_dropped_and_counted_with_one_warning_per_interval()
    {
        var broadcast = new FakeBroadcast { OnSend = _ => throw new InvalidOperationException("broker is down") };
        var logs = new ListLoggerProvider();
        var dispatcher = new EventDispatcher(broadcast, "w1@host", new LamportClock(), TimeProvider.System, logs.CreateLogger("Fennel.Events"),
            batchTaskEvents: true);
        for (var i = 0; i < 50; i++)
        {
            Assert.True(dispatcher.Send(Started("t" + i))); // never blocks, never throws to the caller
        }
        await Eventually.HoldsAsync(() => dispatcher.Dropped == 50, "all 50 dropped");
        await dispatcher.DisposeAsync();
        Assert.Equal(0, dispatcher.Sent);
        var warnings = logs.Lines.Where(l => l.Id == 2403).ToList();
        Assert.InRange(warnings.Count, 1, 2); // the first drop at once, the rest when disposed (within 10 s of it)
        Assert.Contains("broker is down", warnings[0].Text, StringComparison.Ordinal);
        Assert.Equal(50, warnings.Sum(w => long.Parse(w.Text.Split(" dropped ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task A_full_buffer_drops_new_events_without_blocking_and_says_so()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var broadcast = new FakeBroadcast { OnSend = _ => release.Task };
        var logs = new ListLoggerProvider();
        var dispatcher = new EventDispatcher(broadcast, "w1@host", new LamportClock(), TimeProvider.System, logs.CreateLogger("Fennel.Events"),
            batchTaskEvents: false, capacity: 10, flushTimeout: TimeSpan.FromMilliseconds(100));
        var accepted = 0;
        for (var i = 0; i < 100; i++) accepted += dispatcher.Send(Started("t" + i)) ? 1 : 0;
        Assert.InRange(accepted, 10, 11); // the buffer, plus the one the sender took
        Assert.Equal(100 - accepted, dispatcher.Dropped);
        Assert.Contains(logs.Lines, l => l.Id == 2403 && l.Text.Contains("buffer of 10 events is full", StringComparison.Ordinal));
        await dispatcher.DisposeAsync(); // the stuck send is abandoned after the flush timeout; what it held is counted
        Assert.Equal(100, dispatcher.Dropped + dispatcher.Sent);
        Assert.Contains(logs.Lines, l => l.Id == 2403 && l.Text.Contains("shutdown", StringComparison.Ordinal));
        release.SetResult();
    }

    private static string[] Keys(JsonNode node) => [.. node.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal)];
}
