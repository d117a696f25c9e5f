using Fennel.Results;
using static Fennel.Interop.Tests.ContractOutcome;

namespace Fennel.Interop.Tests;

/// <summary>
/// The calls both clients send to the other side's worker: every contract task with positional and keyword arguments,
/// Unicode beyond the BMP, ints past 64 bits, floats, countdown, ETA, expiry (past, future, and passing during a
/// countdown), priorities, custom headers, a failure and a retry. The expected values are what Python computes.
/// </summary>
internal static class ContractCalls
{
    /// <summary>The key of the call whose <c>expires</c> is already past when it is sent.</summary>
    public const string Expired = "expired";

    /// <summary>Every call, for a Redis broker.</summary>
    public static IReadOnlyList<ContractCall> All { get; } =
    [
        new("add ints", "tasks.add", "[2, 3]", new Success("5")),
        new("add 2**40", "tasks.add", "[1099511627776, 1099511627776]", new Success("2199023255552")),
        new("add past a long", "tasks.add", "[9223372036854775807, 1]", new Success("9223372036854775808")),
        new("add 2**70", "tasks.add", "[1180591620717411303424, 1]", new Success("1180591620717411303425")),
        new("add negative", "tasks.add", "[-5, 3]", new Success("-2")),
        new("add floats", "tasks.add", "[0.1, 0.2]", new Success("0.30000000000000004")),
        new("add int and float", "tasks.add", "[1, 2.0]", new Success("3.0")),
        new("add as kwargs", "tasks.add", "[]", new Success("7")) { KwargsJson = """{"x": 3, "y": 4}""" },
        new("mul 2**40", "tasks.mul", "[1099511627776, 1099511627776]", new Success("1208925819614629174706176")),
        new("mul int and float", "tasks.mul", "[3, 0.5]", new Success("1.5")),
        new("mul float stays float", "tasks.mul", "[4, 1.0]", new Success("4.0")),
        new("mul negative", "tasks.mul", "[-7, 6]", new Success("-42")),
        new("tsum mixed", "tasks.tsum", "[[1, 2.5, 3]]", new Success("6.5")),
        new("tsum past 64 bits", "tasks.tsum", "[[9223372036854775807, 9223372036854775807, 2]]", new Success("18446744073709551616")),
        new("tsum empty", "tasks.tsum", "[[]]", new Success("0")),
        new("greet defaults", "tasks.greet", """["Zoë ☃"]""", new Success("""{"message": "Hello, Zoë ☃!", "len": 5}""")),
        new("greet kwargs and emoji", "tasks.greet", "[]", new Success("""{"message": "Hi, 👩‍💻 dev?", "len": 7}"""))
        {
            KwargsJson = """{"name": "👩‍💻 dev", "greeting": "Hi", "punctuation": "?"}""",
        },
        new("greet args and kwargs", "tasks.greet", """["日本", "こんにちは"]""", new Success("""{"message": "こんにちは, 日本🎉", "len": 2}"""))
        {
            KwargsJson = """{"punctuation": "🎉"}""",
        },
        new("fail", "tasks.fail", """["kaboom Zoë ☃"]""", new Error(TaskState.Failure, "ValueError", "builtins", "kaboom Zoë ☃")),
        new("fail default", "tasks.fail", "[]", new Error(TaskState.Failure, "ValueError", "builtins", "boom")),
        new("retry once", "tasks.retry_once", "[7]", new Success("7") { AtLeast = TimeSpan.FromSeconds(1) }),
        new("sleep", "tasks.sleep", "[0.25]", new Success("0.25") { AtLeast = TimeSpan.FromSeconds(0.25) }),
        new("countdown", "tasks.add", "[10, 20]", new Success("30") { AtLeast = TimeSpan.FromSeconds(2) }) { Countdown = TimeSpan.FromSeconds(2) },
        new("eta", "tasks.mul", "[6, 7]", new Success("42") { AtLeast = TimeSpan.FromSeconds(3) }) { EtaIn = TimeSpan.FromSeconds(3) },
        new(Expired, "tasks.add", "[1, 1]", new Error(TaskState.Revoked, "TaskRevokedError", "celery.exceptions", "expired"))
        {
            ExpiresIn = TimeSpan.FromSeconds(-60),
        },
        new("expires later", "tasks.add", "[2, 2]", new Success("4")) { ExpiresIn = TimeSpan.FromMinutes(5) },
        // Expires while it waits for its countdown: the worker takes it at once (before the expiry, so RabbitMQ does not
        // drop it for its TTL), holds it, and when it is due stores REVOKED 'expired' instead of running it.
        new("expires during countdown", "tasks.add", "[3, 3]", new Error(TaskState.Revoked, "TaskRevokedError", "celery.exceptions", "expired")
        {
            AtLeast = TimeSpan.FromSeconds(6),
        })
        {
            Countdown = TimeSpan.FromSeconds(6),
            ExpiresIn = TimeSpan.FromSeconds(4),
        },
        new("priority 5", "tasks.add", "[4, 5]", new Success("9")) { Priority = 5 },
        new("priority 9", "tasks.mul", "[4, 5]", new Success("20")) { Priority = 9 },
        new("custom headers", "tasks.header", """["x-tenant"]""", new Success("\"acme\""))
        {
            Headers = new Dictionary<string, object> { ["x-tenant"] = "acme" },
        },
        new("no such header", "tasks.header", """["x-tenant"]""", new Success("null")),
    ];

    /// <summary>
    /// The calls for a RabbitMQ broker: all but <see cref="Expired"/>. Its message carries <c>expiration: "0"</c> (both
    /// clients turn a past <c>expires</c> into a zero TTL), which RabbitMQ delivers if a consumer can take it at that
    /// instant and drops otherwise: no outcome can be expected. The RabbitMQ expiry tests cover it.
    /// </summary>
    public static IReadOnlyList<ContractCall> OnRabbitMQ { get; } = [.. All.Where(c => c.Key != Expired)];

    /// <summary>The calls for <paramref name="broker"/>.</summary>
    public static IReadOnlyList<ContractCall> For(InteropBroker broker) => broker == InteropBroker.RabbitMQ ? OnRabbitMQ : All;
}
