using System.Text.Json.Nodes;

namespace Fennel.Protocol;

/// <summary>
/// One task message in Celery's protocol v2: the headers, the properties and the body
/// <c>[args, kwargs, embed]</c>. Every transport carries this same message; <see cref="TaskMessageCodec"/>
/// turns it into bytes and back.
/// </summary>
/// <remarks>
/// Header names on the wire are Celery's (<c>id</c>, <c>task</c>, <c>eta</c>, <c>timelimit</c>, ...).
/// Headers this type does not model (custom headers from <c>headers={...}</c>, fields of newer Celery
/// versions) are kept in <see cref="ExtraHeaders"/> and sent back unchanged.
/// </remarks>
public sealed record TaskMessage
{
    /// <summary>The task id (a UUID string). Header <c>id</c>; also the <c>correlation_id</c> property.</summary>
    public required string Id { get; init; }

    /// <summary>The registered task name, e.g. <c>customers.send_welcome</c>. Header <c>task</c>.</summary>
    public required string Task { get; init; }

    /// <summary>The language of the sender. Header <c>lang</c>. <value>Default: <c>py</c>, as every Celery peer expects.</value></summary>
    public string Lang { get; init; } = "py";

    /// <summary>Another name to show in logs in place of <see cref="Task"/>. Header <c>shadow</c>.</summary>
    public string? Shadow { get; init; }

    /// <summary>Do not run before this time. Header <c>eta</c>.</summary>
    public DateTimeOffset? Eta { get; init; }

    /// <summary>Do not run after this time; an expired task ends REVOKED. Header <c>expires</c>.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>The group this task belongs to. Header <c>group</c>.</summary>
    public string? Group { get; init; }

    /// <summary>Position in a chord header. Header <c>group_index</c>.</summary>
    public int? GroupIndex { get; init; }

    /// <summary>How many times the task was retried so far. Header <c>retries</c>.</summary>
    public int Retries { get; init; }

    /// <summary>Time limits in seconds. Header <c>timelimit</c> = <c>[hard, soft]</c>.</summary>
    public TaskTimeLimit TimeLimit { get; init; }

    /// <summary>The id of the first task of the workflow. Header <c>root_id</c>.</summary>
    public string? RootId { get; init; }

    /// <summary>The id of the task that sent this one. Header <c>parent_id</c>.</summary>
    public string? ParentId { get; init; }

    /// <summary>Python repr of the positional arguments, for logs and monitors. Header <c>argsrepr</c>.</summary>
    public string? ArgsRepr { get; init; }

    /// <summary>Python repr of the keyword arguments. Header <c>kwargsrepr</c>.</summary>
    public string? KwargsRepr { get; init; }

    /// <summary>Who sent the message, <c>gen&lt;pid&gt;@&lt;host&gt;</c>. Header <c>origin</c>.</summary>
    public string? Origin { get; init; }

    /// <summary>When true the worker stores no result. Header <c>ignore_result</c>.</summary>
    public bool IgnoreResult { get; init; }

    /// <summary>Every header not modelled above (custom headers, newer Celery fields), kept in order.</summary>
    public JsonObject ExtraHeaders { get; init; } = [];

    /// <summary>Where results and replies go (the sender's oid; the rpc result queue). Property <c>reply_to</c>.</summary>
    public string? ReplyTo { get; init; }

    /// <summary>Priority 0..9. Property <c>priority</c>. Which end is served first depends on the transport.</summary>
    public int Priority { get; init; }

    /// <summary>2 = persistent, 1 = transient. Property <c>delivery_mode</c>. <value>Default: 2.</value></summary>
    public int DeliveryMode { get; init; } = 2;

    /// <summary>Positional arguments (body element 0).</summary>
    public JsonArray Args { get; init; } = [];

    /// <summary>Keyword arguments (body element 1).</summary>
    public JsonObject Kwargs { get; init; } = [];

    /// <summary>Callbacks, errbacks, chain and chord (body element 2).</summary>
    public TaskEmbed Embed { get; init; } = new();

    /// <summary>The name to log: <see cref="Shadow"/> when set, else <see cref="Task"/>.</summary>
    public string DisplayName => Shadow ?? Task;
}

/// <summary>Time limits in seconds, as in the <c>timelimit</c> header <c>[hard, soft]</c>; null means none.</summary>
/// <param name="Hard">The task is stopped after this many seconds.</param>
/// <param name="Soft">The task's cancellation token fires after this many seconds.</param>
public readonly record struct TaskTimeLimit(double? Hard, double? Soft);

/// <summary>The third body element: what runs after the task. Signatures are kept as raw JSON.</summary>
public sealed record TaskEmbed
{
    /// <summary>Signatures to call with the result on success (<c>link=</c>).</summary>
    public JsonArray? Callbacks { get; init; }

    /// <summary>Signatures to call on failure (<c>link_error=</c>).</summary>
    public JsonArray? Errbacks { get; init; }

    /// <summary>The remaining chain steps, last step first.</summary>
    public JsonArray? Chain { get; init; }

    /// <summary>The chord body signature.</summary>
    public JsonObject? Chord { get; init; }
}
