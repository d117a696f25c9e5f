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

    private static EchoResult Echo(int n, TaskContext context)
    {
        Journal.Started(context);
        var result = new EchoResult(n, context.WorkerName);
        Journal.Ended(context);
        return result;
    }
}

/// <summary>What the echo tasks return: <c>{"n": 3, "worker": "celery@host"}</c>.</summary>
public sealed record EchoResult(int N, string Worker);
