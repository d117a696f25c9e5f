using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Calling;
using Fennel.Tasks;

namespace Fennel.Interop.Tests;

/// <summary>
/// One call of a contract task with what it must end with. The same call is sent by the Celery client
/// (<see cref="ToCeleryCall"/>, for python/send_tasks.py) and by Fennel's client (<see cref="ToTaskCall"/>).
/// </summary>
/// <param name="Key">A unique name for reports and messages.</param>
/// <param name="Task">The task name.</param>
/// <param name="ArgsJson">Positional arguments as JSON text, so <c>2.0</c> stays a float and big ints stay exact.</param>
/// <param name="Expected">The outcome.</param>
internal sealed record ContractCall(string Key, string Task, string ArgsJson, ContractOutcome Expected)
{
    /// <summary>Keyword arguments as JSON text.</summary>
    public string KwargsJson { get; init; } = "{}";

    /// <summary>Celery's <c>countdown</c>.</summary>
    public TimeSpan? Countdown { get; init; }

    /// <summary>An <c>eta</c> this long after sending.</summary>
    public TimeSpan? EtaIn { get; init; }

    /// <summary>An <c>expires</c> this long after sending; negative for one already past.</summary>
    public TimeSpan? ExpiresIn { get; init; }

    /// <summary>The message priority, 0–9.</summary>
    public int? Priority { get; init; }

    /// <summary>Custom headers, sent at the top level of the message headers: strings and integers.</summary>
    public IReadOnlyDictionary<string, object>? Headers { get; init; }

    /// <summary>The call as send_tasks.py reads it: <c>{"key", "task", "args", "kwargs", "countdown", "eta_in", ...}</c>.</summary>
    public JsonObject ToCeleryCall()
    {
        var call = new JsonObject
        {
            ["key"] = Key,
            ["task"] = Task,
            ["args"] = JsonNode.Parse(ArgsJson),
            ["kwargs"] = JsonNode.Parse(KwargsJson),
        };
        if (Countdown is { } countdown) call["countdown"] = countdown.TotalSeconds;
        if (EtaIn is { } etaIn) call["eta_in"] = etaIn.TotalSeconds;
        if (ExpiresIn is { } expiresIn) call["expires_in"] = expiresIn.TotalSeconds;
        if (Priority is { } priority) call["priority"] = priority;
        if (Headers is not null) call["headers"] = new JsonObject(Headers.Select(h => KeyValuePair.Create(h.Key, JsonSerializer.SerializeToNode(h.Value))));
        return call;
    }

    /// <summary>The call for <see cref="FennelClient.SendBatchAsync"/> to <paramref name="queue"/>, with times counted from <paramref name="now"/>.</summary>
    public TaskCall ToTaskCall(DateTimeOffset now, string queue) => new(Task, JsonNode.Parse(ArgsJson)!.AsArray(), JsonNode.Parse(KwargsJson)!.AsObject(),
        new CallOptions
        {
            Countdown = Countdown,
            Eta = EtaIn is { } etaIn ? now + etaIn : null,
            Expires = ExpiresIn is { } expiresIn ? now + expiresIn : null,
            Priority = Priority,
            Headers = Headers?.ToDictionary(h => h.Key, h => (object?)h.Value),
            Queue = queue,
        });

    public override string ToString() => $"{Key}: {Task}({ArgsJson}, {KwargsJson})";
}
