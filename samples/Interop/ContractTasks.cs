using System.Text.Json.Nodes;
using Fennel;
using Fennel.Calling;
using Fennel.Tasks;

namespace Interop;

/// <summary>
/// The interop contract: eight tasks whose names, arguments, results and failures are the same in .NET and in Python
/// (test/Fennel.Interop.Tests/python/interop_tasks.py), so either kind of worker can serve a call from either kind of
/// client. Numbers follow Python (see <see cref="PythonNumber"/>); failures are stored as Python's built-in exceptions.
/// </summary>
internal static class ContractTasks
{
    /// <summary>The queue the contract tasks are routed to, and that the interop workers consume.</summary>
    public const string Queue = "interop";

    /// <summary>The longest delay Task.Delay accepts (about 49.7 days).</summary>
    private static readonly TimeSpan LongestSleep = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public static void Register(FennelApp app)
    {
        // add(x, y) -> x + y; mul(x, y) -> x * y: int with int is an exact int of any size, anything with a float a float.
        app.Task<JsonNode?, JsonNode?, JsonNode>("tasks.add", (JsonNode? x, JsonNode? y) => PythonNumber.Add(x, y).ToJson());
        app.Task<JsonNode?, JsonNode?, JsonNode>("tasks.mul", (JsonNode? x, JsonNode? y) => PythonNumber.Multiply(x, y).ToJson());

        // tsum(values) -> sum(values): 0 for an empty list.
        app.Task<JsonNode?, JsonNode>("tasks.tsum", (JsonNode? values) => PythonNumber.Sum(values).ToJson());

        // greet(name, greeting='Hello', punctuation='!') -> {"message": "Hello, Zoë!", "len": 3}; len counts code points,
        // as Python's len(str) does, so an emoji outside the BMP counts once.
        app.Task<string, string, string, Greeting>("tasks.greet", (string name, string greeting = "Hello", string punctuation = "!") =>
        {
            if (name is null) throw new TypeError("object of type 'NoneType' has no len()");
            return new Greeting($"{greeting}, {name}{punctuation}", name.EnumerateRunes().Count());
        });

        // fail(msg='boom') raises ValueError(msg).
        app.Task<string, NoResult>("tasks.fail", (string msg = "boom") =>
        {
            throw new ValueError(msg);
        });

        // retry_once(x): the first run asks for a retry in 1 s (stored as RETRY with RuntimeError), the second returns x.
        app.Task<JsonNode?, JsonNode?>("tasks.retry_once", (JsonNode? x, TaskContext context) =>
        {
            if (context.Retries == 0) throw context.Retry(new RuntimeError("first attempt fails"), countdown: TimeSpan.FromSeconds(1));
            return x;
        }, new TaskOptions { MaxRetries = 3 });

        // header(name) -> the value of the custom message header `name` (apply_async(headers={...}), CallOptions.Headers), or None.
        app.Task<string, JsonNode?>("tasks.header", (string name, TaskContext context) => context.Message.ExtraHeaders[name]?.DeepClone());

        // sleep(seconds) -> seconds, as given (an int stays an int); cancelled by a cold shutdown or a soft time limit.
        app.Task<JsonNode?, JsonNode?>("tasks.sleep", async (JsonNode? seconds, CancellationToken cancellationToken) =>
        {
            var delay = PythonNumber.FromJson(seconds, type => $"'{type}' object cannot be interpreted as a number of seconds").ToDouble();
            if (delay < 0) throw new ValueError("sleep length must be non-negative");
            if (delay > LongestSleep.TotalSeconds) throw new OverflowError("sleep length is too large");
            await Task.Delay(TimeSpan.FromSeconds(delay), cancellationToken);
            return seconds;
        });
    }
}

/// <summary>What <c>tasks.greet</c> returns: <c>{"message": ..., "len": ...}</c> on the wire (snake_case names).</summary>
internal sealed record Greeting(string Message, int Len);
