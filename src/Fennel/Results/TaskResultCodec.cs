using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fennel.Protocol;

namespace Fennel.Results;

/// <summary>
/// <see cref="TaskResult"/> to and from the JSON Celery stores: <c>{"status", "result", "traceback", "children",
/// "date_done", ["group_id"], ["parent_id"], "task_id"}</c>, plus <c>worker</c> as Celery's extended results write it.
/// Result stores of every kind (SQLite, Redis) keep these bytes.
/// </summary>
internal static class TaskResultCodec
{
    /// <summary>Encodes a result as UTF-8 JSON in Celery's key order.</summary>
    public static byte[] Encode(TaskResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, TaskMessageCodec.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("status", result.State.ToWire());
            writer.WritePropertyName("result");
            if (result.Result is null) writer.WriteNullValue(); else result.Result.WriteTo(writer);
            if (result.Traceback is null) writer.WriteNull("traceback"); else writer.WriteString("traceback", result.Traceback);
            writer.WritePropertyName("children");
            result.Children.WriteTo(writer);
            if (result.DateDone is { } done) writer.WriteString("date_done", CeleryTime.FormatNaiveUtc(done));
            else writer.WriteNull("date_done");
            if (result.GroupId is not null) writer.WriteString("group_id", result.GroupId);
            if (result.ParentId is not null) writer.WriteString("parent_id", result.ParentId);
            if (result.Worker is not null) writer.WriteString("worker", result.Worker);
            writer.WriteString("task_id", result.TaskId);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a stored result.</summary>
    /// <exception cref="MessageFormatException">The bytes are not a Celery result.</exception>
    public static TaskResult Decode(ReadOnlySpan<byte> json, string? expectedTaskId = null)
    {
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(json) as JsonObject ?? throw new MessageFormatException("A stored result is not a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new MessageFormatException($"A stored result is not valid JSON: {ex.Message}", ex);
        }
        var status = Text(obj, "status");
        if (!TaskStates.TryParse(status, out var state))
        {
            throw new MessageFormatException($"A stored result has an unknown status '{status}'.");
        }
        var taskId = Text(obj, "task_id") ?? expectedTaskId ?? throw new MessageFormatException("A stored result has no task_id.");
        var result = obj["result"];
        obj.Remove("result");
        var children = obj["children"] as JsonArray;
        obj.Remove("children");
        return new TaskResult
        {
            TaskId = taskId,
            State = state,
            Result = result,
            Traceback = Text(obj, "traceback"),
            Children = children ?? [],
            DateDone = CeleryTime.TryParse(Text(obj, "date_done"), out var done) ? done : null,
            GroupId = Text(obj, "group_id"),
            ParentId = Text(obj, "parent_id"),
            Worker = Text(obj, "worker"),
        };
    }

    private static string? Text(JsonObject obj, string name) => obj[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
