using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Fennel.Protocol;
using Fennel.Results;

namespace Fennel.Worker.Pools;

/// <summary>
/// What the process pool's parent and children say to each other over their Unix domain socket (never stdout: tasks may
/// print). Every frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON, an object with a <c>type</c>:
/// <list type="bullet">
/// <item>child → parent <c>ready</c> <c>{nonce, pid}</c>: the first frame, so the parent knows which child connected;</item>
/// <item>parent → child <c>run</c> <c>{queue, delivery_count, worker, soft_time_limit, headers, properties, body}</c>: the
/// task message the dispatcher decoded, as protocol v2 headers (an object), properties (<c>reply_to</c>,
/// <c>priority</c>, <c>delivery_mode</c>) and body (<c>[args, kwargs, embed]</c> as JSON text): the child rebuilds the
/// message from them, never the delivery (no kombu envelope, no base64, nothing decoded twice);</item>
/// <item>child → parent <c>outcome</c> <c>{rss, outcome}</c>: how the run ended and the child's resident memory after it;
/// a retry says only its delay, limit and reason: the parent builds the next message from the one it decoded.</item>
/// </list>
/// The parent ends a child by closing the socket: the child exits on end of file, at once (even if a task spins).
/// </summary>
internal static class ProcessPoolProtocol
{
    /// <summary>The largest frame either side accepts: a result bigger than this is refused with a clear error.</summary>
    public const int MaxFrameBytes = 256 * 1024 * 1024;

    private const int HeaderBytes = 4;

    /// <summary>Writes one frame.</summary>
    public static async ValueTask WriteFrameAsync(Stream stream, JsonObject message, CancellationToken cancellationToken = default)
    {
        var frame = Encode(message);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes one frame, blocking (the child's side).</summary>
    public static void WriteFrame(Stream stream, JsonObject message)
    {
        stream.Write(Encode(message));
        stream.Flush();
    }

    /// <summary>The bytes of one frame: length, then the JSON.</summary>
    public static byte[] Encode(JsonObject message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var json = Encoding.UTF8.GetBytes(message.ToJsonString());
        if (json.Length > MaxFrameBytes)
        {
            throw new InvalidDataException($"A process pool frame of {json.Length} bytes is over the limit of {MaxFrameBytes} bytes " +
                "(a task result that large cannot be passed back from a child process; store it elsewhere and return a reference).");
        }
        var frame = new byte[HeaderBytes + json.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, json.Length);
        json.CopyTo(frame, HeaderBytes);
        return frame;
    }

    /// <summary>Reads one frame; null at end of file between frames (the other side closed or died).</summary>
    /// <exception cref="InvalidDataException">The stream ended inside a frame, or the frame is not a JSON object of a known size.</exception>
    public static async ValueTask<JsonObject?> ReadFrameAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var header = new byte[HeaderBytes];
        var read = await stream.ReadAtLeastAsync(header, HeaderBytes, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read == 0) return null;
        var length = CheckHeader(header, read);
        var payload = new byte[length];
        var got = await stream.ReadAtLeastAsync(payload, length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return Parse(payload, got);
    }

    /// <summary>Reads one frame, blocking (the child's side); null at end of file between frames.</summary>
    public static JsonObject? ReadFrame(Stream stream)
    {
        var header = new byte[HeaderBytes];
        var read = stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false);
        if (read == 0) return null;
        var length = CheckHeader(header, read);
        var payload = new byte[length];
        return Parse(payload, stream.ReadAtLeast(payload, length, throwOnEndOfStream: false));
    }

    private static int CheckHeader(byte[] header, int read)
    {
        if (read < HeaderBytes) throw new InvalidDataException($"The process pool connection ended inside a frame header ({read} of {HeaderBytes} bytes).");
        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length is < 0 or > MaxFrameBytes)
        {
            throw new InvalidDataException($"A process pool frame announces {length} bytes; frames hold 0 to {MaxFrameBytes} bytes.");
        }
        return length;
    }

    private static JsonObject Parse(byte[] payload, int got)
    {
        if (got < payload.Length) throw new InvalidDataException($"The process pool connection ended inside a frame ({got} of {payload.Length} bytes).");
        try
        {
            return JsonNode.Parse(payload) as JsonObject ?? throw new InvalidDataException("A process pool frame is not a JSON object.");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new InvalidDataException($"A process pool frame is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>The type of a frame (<c>ready</c>, <c>run</c>, <c>outcome</c>).</summary>
    public static string TypeOf(JsonObject frame) => Text(frame, "type");

    // ---- ready -------------------------------------------------------------------------------------------------

    public static JsonObject Ready(string nonce, int pid) => new() { ["type"] = "ready", ["nonce"] = nonce, ["pid"] = pid };

    public static (string Nonce, int Pid) ReadReady(JsonObject frame)
    {
        Expect(frame, "ready");
        return (Text(frame, "nonce"), Int(frame, "pid"));
    }

    // ---- run ---------------------------------------------------------------------------------------------------

    /// <summary>A task for a child: the decoded message, its queue, its delivery count, the worker's name, the soft limit.</summary>
    public sealed record RunRequest(string Queue, int DeliveryCount, string WorkerName, TimeSpan? SoftTimeLimit, TaskMessage Message);

    public static JsonObject Run(RunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var message = request.Message;
        return new JsonObject
        {
            ["type"] = "run",
            ["queue"] = request.Queue,
            ["delivery_count"] = request.DeliveryCount,
            ["worker"] = request.WorkerName,
            ["soft_time_limit"] = request.SoftTimeLimit is { } soft ? soft.TotalSeconds : null,
            ["headers"] = TaskMessageCodec.EncodeHeaders(message),
            ["properties"] = new JsonObject { ["reply_to"] = message.ReplyTo, ["priority"] = message.Priority, ["delivery_mode"] = message.DeliveryMode },
            ["body"] = Encoding.UTF8.GetString(TaskMessageCodec.EncodeBody(message)),
        };
    }

    public static RunRequest ReadRun(JsonObject frame)
    {
        Expect(frame, "run");
        var soft = frame["soft_time_limit"] is JsonValue s && s.TryGetValue(out double seconds) ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        if (frame["headers"] is not JsonObject headers) throw new InvalidDataException("A process pool 'run' frame has no 'headers' object.");
        TaskMessage message;
        try
        {
            message = TaskMessageCodec.Decode(headers, frame["properties"] as JsonObject, Encoding.UTF8.GetBytes(Text(frame, "body")));
        }
        catch (MessageFormatException ex)
        {
            throw new InvalidDataException($"The task message in a process pool 'run' frame cannot be read: {ex.Message}", ex);
        }
        return new RunRequest(Text(frame, "queue"), Int(frame, "delivery_count"), Text(frame, "worker"), soft, message);
    }

    // ---- outcome -----------------------------------------------------------------------------------------------

    /// <summary>
    /// How a run in a child ended and the child's resident memory (bytes) after it. A child only ever decides
    /// <see cref="TaskOutcome.Succeeded"/>, <see cref="TaskOutcome.Failed"/> and <see cref="TaskOutcome.Retried"/>: time
    /// limits past the soft one, terminate, cold shutdown and lost children are the parent's to decide. A retry goes back
    /// as its delay, limit and reason only: the parent holds the message it sent.
    /// </summary>
    public static JsonObject Outcome(TaskOutcome outcome, long residentBytes)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var body = new JsonObject { ["seconds"] = outcome.Seconds };
        switch (outcome)
        {
            case TaskOutcome.Succeeded success:
                body["kind"] = "succeeded";
                body["value"] = success.Value is { Parent: not null } attached ? attached.DeepClone() : success.Value;
                break;
            case TaskOutcome.Failed failure:
                body["kind"] = "failed";
                body["error"] = Error(failure.Error);
                break;
            case TaskOutcome.Retried retry:
                body["kind"] = "retried";
                body["delay"] = retry.Delay.TotalSeconds;
                body["max_retries"] = retry.MaxRetries;
                body["reason"] = Error(retry.Reason);
                break;
            default:
                throw new ArgumentException($"A child cannot report the outcome {outcome.GetType().Name}; only the parent decides it.", nameof(outcome));
        }
        return new JsonObject { ["type"] = "outcome", ["rss"] = residentBytes, ["outcome"] = body };
    }

    /// <summary>
    /// Reads how the run of <paramref name="sent"/> ended; a retry's next message is <paramref name="sent"/> again, due
    /// after the child's delay from now.
    /// </summary>
    public static (TaskOutcome Outcome, long ResidentBytes) ReadOutcome(JsonObject frame, TaskMessage sent, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(sent);
        ArgumentNullException.ThrowIfNull(time);
        Expect(frame, "outcome");
        var rss = frame["rss"] is JsonValue r && r.TryGetValue(out long bytes) ? bytes : 0;
        if (frame["outcome"] is not JsonObject body) throw new InvalidDataException("A process pool 'outcome' frame has no 'outcome' object.");
        var seconds = body["seconds"] is JsonValue s && s.TryGetValue(out double sec) ? sec : 0;
        TaskOutcome outcome = Text(body, "kind") switch
        {
            "succeeded" => new TaskOutcome.Succeeded(Detach(body, "value"), seconds),
            "failed" => Failed(ReadError(body, "error"), seconds),
            "retried" => Retried(sent, TimeSpan.FromSeconds(Double(body, "delay")), Int(body, "max_retries"), ReadError(body, "reason"), seconds, time),
            var other => throw new InvalidDataException($"A process pool 'outcome' frame has the unknown kind '{other}'."),
        };
        return (outcome, rss);
    }

    /// <summary>A failure from a child, with an exception that carries the child's traceback into the worker's log line.</summary>
    private static TaskOutcome.Failed Failed(RemoteException error, double seconds) =>
        new(error, new ChildTaskFailedException(error), seconds);

    private static TaskOutcome.Retried Retried(TaskMessage sent, TimeSpan delay, int maxRetries, RemoteException reason, double seconds, TimeProvider time) =>
        new(TaskOutcome.Retried.NextOf(sent, time.GetUtcNow() + delay), delay, maxRetries, reason, seconds);

    private static JsonObject Error(RemoteException error) => new()
    {
        ["type"] = error.Type,
        ["message"] = error.Message,
        ["module"] = error.Module,
        ["traceback"] = error.Traceback,
    };

    private static RemoteException ReadError(JsonObject body, string name)
    {
        if (body[name] is not JsonObject error) throw new InvalidDataException($"A process pool 'outcome' frame has no '{name}' object.");
        return new RemoteException(Text(error, "type"), Text(error, "message"), OptionalText(error, "module"), OptionalText(error, "traceback"));
    }

    /// <summary>Takes a node out of its frame, so the worker can put it into a result.</summary>
    private static JsonNode? Detach(JsonObject body, string name)
    {
        var node = body[name];
        body.Remove(name);
        return node;
    }

    private static void Expect(JsonObject frame, string type)
    {
        var actual = TypeOf(frame);
        if (actual != type) throw new InvalidDataException($"Expected a process pool '{type}' frame, got '{actual}'.");
    }

    private static string Text(JsonObject obj, string name) =>
        OptionalText(obj, name) ?? throw new InvalidDataException($"A process pool frame lacks the text '{name}'.");

    private static string? OptionalText(JsonObject obj, string name) => obj[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    private static int Int(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.TryGetValue(out int i) ? i : throw new InvalidDataException($"A process pool frame lacks the integer '{name}'.");

    private static double Double(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.TryGetValue(out double d) ? d : throw new InvalidDataException($"A process pool frame lacks the number '{name}'.");

    /// <summary>How a child's exit reads in a log line: <c>exit code 0</c>, <c>killed by signal 9 (SIGKILL)</c>.</summary>
    public static string DescribeExit(int? exitCode) => exitCode switch
    {
        null => "exit status unknown",
        > 128 and < 160 => $"killed by signal {exitCode - 128}{SignalName(exitCode.Value - 128)}",
        var code => "exit code " + code.Value.ToString(CultureInfo.InvariantCulture),
    };

    private static string SignalName(int signal) => signal switch
    {
        1 => " (SIGHUP)", 2 => " (SIGINT)", 3 => " (SIGQUIT)", 4 => " (SIGILL)", 6 => " (SIGABRT)", 7 => " (SIGBUS)", 8 => " (SIGFPE)",
        9 => " (SIGKILL)", 11 => " (SIGSEGV)", 13 => " (SIGPIPE)", 15 => " (SIGTERM)",
        _ => "",
    };
}

/// <summary>A task failed in a process pool child: the child's exception (type, message, traceback) as the worker logs it.</summary>
internal sealed class ChildTaskFailedException(RemoteException error)
    : FennelException(error.Traceback is null ? error.ToString() : $"{error}{Environment.NewLine}{error.Traceback}");
