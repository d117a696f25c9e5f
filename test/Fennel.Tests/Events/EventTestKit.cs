using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Fennel.Events;
using Fennel.Protocol;
using Fennel.Transport;
using Microsoft.Extensions.Logging;

namespace Fennel.Tests.Events;

/// <summary>Collects what an app's broker broadcasts on celeryev: the raw messages and the decoded events.</summary>
internal sealed class EventRecorder : IAsyncDisposable
{
    private readonly List<CeleryEvent> _events = [];
    private readonly List<BroadcastMessage> _messages = [];
    private IAsyncDisposable? _decoded;
    private IAsyncDisposable? _raw;

    public static async Task<EventRecorder> StartAsync(FennelApp app, string bindingKey = "#")
    {
        var recorder = new EventRecorder();
        recorder._decoded = await app.Client.SubscribeEventsAsync(e =>
        {
            lock (recorder._events) recorder._events.Add(e);
            return Task.CompletedTask;
        }, bindingKey);
        recorder._raw = await ((IBroadcastTransport)app.Transport).SubscribeAsync("celeryev", bindingKey, m =>
        {
            lock (recorder._messages) recorder._messages.Add(m);
            return Task.CompletedTask;
        });
        return recorder;
    }

    public IReadOnlyList<CeleryEvent> Events
    {
        get { lock (_events) return [.. _events]; }
    }

    public IReadOnlyList<BroadcastMessage> Messages
    {
        get { lock (_messages) return [.. _messages]; }
    }

    public IReadOnlyList<TaskEvent> For(string taskId) => [.. Events.OfType<TaskEvent>().Where(e => e.TaskId == taskId)];

    public async Task<T> WaitForAsync<T>(Func<T, bool>? match = null, string? what = null) where T : CeleryEvent
    {
        T? found = null;
        await Eventually.HoldsAsync(() =>
        {
            found = Events.OfType<T>().FirstOrDefault(e => match?.Invoke(e) ?? true);
            return found is not null;
        }, what ?? typeof(T).Name, TimeSpan.FromSeconds(10));
        return found!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_decoded is not null) await _decoded.DisposeAsync();
        if (_raw is not null) await _raw.DisposeAsync();
    }

    /// <summary>The envelope's JSON and the body's JSON of a raw message.</summary>
    public static (JsonObject Envelope, JsonNode Body) Open(BroadcastMessage message)
    {
        var envelope = JsonNode.Parse(message.Body.Span)!.AsObject();
        return (envelope, JsonNode.Parse(KombuEnvelope.Decode(message.Body.Span).Body)!);
    }
}

/// <summary>A broadcast that records, and can be made to wait or to fail.</summary>
internal sealed class FakeBroadcast : IBroadcastTransport
{
    private readonly ConcurrentQueue<(string RoutingKey, byte[] Body)> _sent = new();

    public Func<int, Task>? OnSend { get; set; }

    public int Calls;

    public IReadOnlyList<(string RoutingKey, byte[] Body)> Sent => [.. _sent];

    public async Task BroadcastAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        Assert.Equal("celeryev", exchange);
        var call = Interlocked.Increment(ref Calls);
        if (OnSend is { } onSend) await onSend(call);
        _sent.Enqueue((routingKey, body.ToArray()));
    }

    public Task<IAsyncDisposable> SubscribeAsync(string exchange, string bindingKey, Func<BroadcastMessage, Task> handler,
        string? subscriberName = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public static IReadOnlyList<CeleryEvent> Decode(byte[] envelope) => CeleryEventCodec.DecodeBody(KombuEnvelope.Decode(envelope).Body);
}

/// <summary>Keeps every log line, for tests that check what logs show.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, int Id, string Category, string Text)> _lines = new();

    public IReadOnlyList<(LogLevel Level, int Id, string Category, string Text)> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new ListLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider._lines.Enqueue((logLevel, eventId.Id, category, formatter(state, exception) + (exception is null ? "" : " " + exception.Message)));
    }
}

internal static class EventText
{
    public static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
