using System.Diagnostics;
using Fennel.Tasks;

namespace Fennel.TestApp;

/// <summary>The tasks the integration tests send. Each one writes "start" and "end" lines to the <see cref="Journal"/>.</summary>
public static class TestTasks
{
    public static void Register(FennelApp app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Task<int, EchoResult>("customers.echo", (int n, TaskContext context) => Echo(n, context));
        app.Task<int, EchoResult>("core.echo", (int n, TaskContext context) => Echo(n, context));

        // Deliberately deaf to the cancellation token: a warm shutdown must let it finish.
        app.Task<int, int, int>("test.slow", async (int n, int ms, TaskContext context) =>
        {
            Journal.Started(context);
            await Task.Delay(ms);
            Journal.Ended(context);
            return n;
        });

        // Sleeps, honouring the cancellation token (a revoke with terminate, a soft time limit, a cold shutdown).
        app.Task<int, int>("test.sleep", async (int ms, TaskContext context, CancellationToken cancellationToken) =>
        {
            Journal.Started(context);
            await Task.Delay(ms, cancellationToken);
            Journal.Ended(context);
            return ms;
        });

        // Sleeps until the given Unix time (ms), so a redelivered copy ends when the first run would have; says when it
        // started and how many times its message was delivered.
        app.Task<long, SleepReport>("test.sleep_until", async (long untilUnixMs, TaskContext context) =>
        {
            Journal.Started(context);
            var started = DateTimeOffset.UtcNow;
            var wait = DateTimeOffset.FromUnixTimeMilliseconds(untilUnixMs) - started;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            Journal.Ended(context);
            return new SleepReport(started.ToUnixTimeMilliseconds(), context.DeliveryCount);
        });

        // A poison task: the worker process running it dies at once (SIGKILL on itself), as from a native crash.
        app.Task<int, Fennel.Calling.NoResult>("test.crash", (int n, TaskContext context) =>
        {
            Journal.Started(context);
            using var self = Process.GetCurrentProcess();
            self.Kill();
            throw new UnreachableException("The process killed itself.");
        });

        // Rate-limited: 10/s in the app's scope (FENNEL_RATE_LIMIT_SCOPE=Cluster makes it cluster-wide), and 2/s per
        // worker. Each says when it started and ended, by its own clock.
        app.Task<int, RunReport>("test.rated", (int n, TaskContext context) => Report(context), new TaskOptions { RateLimit = "10/s" });
        app.Task<int, RunReport>("test.rated_slow", (int n, TaskContext context) => Report(context),
            new TaskOptions { RateLimit = "2/s", RateLimitScope = RateLimitScope.Worker });

        // The process running it (a process pool child, or the worker itself in the other pools).
        app.Task<int, int>("test.pid", (int n, TaskContext context) =>
        {
            Journal.Started(context);
            Journal.Ended(context);
            return Environment.ProcessId;
        });

        // Leaks `megabytes` MB for good (touched, so it is resident) and returns the process id: what --max-memory-per-child is for.
        app.Task<int, int>("test.leak", (int megabytes, TaskContext context) =>
        {
            Journal.Started(context);
            var block = new byte[megabytes * 1024 * 1024];
            for (var i = 0; i < block.Length; i += 4096) block[i] = 1;
            lock (Leaked) Leaked.Add(block);
            Journal.Ended(context);
            return Environment.ProcessId;
        });

        // Ends its process at once through Environment.FailFast (SIGABRT), as a corrupted runtime would.
        app.Task<int, Fennel.Calling.NoResult>("test.failfast", (int n, TaskContext context) =>
        {
            Journal.Started(context);
            Environment.FailFast("test.failfast: ending the process on purpose");
            throw new UnreachableException("FailFast returned.");
        });

        // Spins on the CPU for ever, deaf to its token: only a process pool can stop it (its hard time limit kills the child).
        app.Task<int, Fennel.Calling.NoResult>("test.spin", (int n, TaskContext context) =>
        {
            Journal.Started(context);
            var x = 0UL;
            while (true) x = unchecked(x * 6364136223846793005UL + 1442695040888963407UL);
        });

        // Waits on its token; true when the soft time limit is what fired it.
        app.Task<int, bool>("test.soft", async (int ms, TaskContext context, CancellationToken cancellationToken) =>
        {
            Journal.Started(context);
            try
            {
                await Task.Delay(ms, cancellationToken);
            }
            catch (OperationCanceledException) when (context.SoftTimeLimitExceeded)
            {
                Journal.Ended(context);
                return true;
            }
            Journal.Ended(context);
            return false;
        });

        app.Task<string, Fennel.Calling.NoResult>("test.fail", (string message, TaskContext context) =>
        {
            Journal.Started(context);
            try
            {
                throw new InvalidOperationException(message);
            }
            finally
            {
                Journal.Ended(context);
            }
        });
    }

    private static RunReport Report(TaskContext context)
    {
        var started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Journal.Started(context);
        Journal.Ended(context);
        return new RunReport(started, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), context.WorkerName);
    }

    private static readonly List<byte[]> Leaked = [];

    private static EchoResult Echo(int n, TaskContext context)
    {
        Journal.Started(context);
        var result = new EchoResult(n, context.WorkerName);
        Journal.Ended(context);
        return result;
    }
}

/// <summary>What <c>test.sleep_until</c> returns: <c>{"started": 1700000000000, "delivery_count": 1}</c>.</summary>
public sealed record SleepReport(long Started, int DeliveryCount);

/// <summary>What the rate-limited tasks return: when they started and ended (Unix ms) and where.</summary>
public sealed record RunReport(long Started, long Ended, string Worker);

/// <summary>What the echo tasks return: <c>{"n": 3, "worker": "celery@host"}</c>.</summary>
public sealed record EchoResult(int N, string Worker);
