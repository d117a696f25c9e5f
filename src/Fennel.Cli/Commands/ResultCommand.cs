using Fennel.Cli.CommandLine;
using Fennel.Protocol;
using Fennel.Python;
using Fennel.Results;

namespace Fennel.Cli.Commands;

/// <summary><c>result ID</c>: prints a task's state and result; with <c>--wait</c> waits for it to finish.</summary>
internal static class ResultCommand
{
    public static CommandSpec Spec { get; } = new("result", "Prints the result of a task (its state when it has not finished).",
    [
        new(["--wait"], "Wait for the task to finish; exit 1 if it failed"),
        new(["--timeout"], "Seconds to wait with --wait (default 30)", "SECONDS"),
    ], ["ID"], RunAsync);

    private static async Task<int> RunAsync(FennelApp app, ParsedCommand cmd, CancellationToken cancellationToken)
    {
        if (app.Results is IReplyQueueResultStore)
        {
            throw new FennelConfigurationException(
                "The result backend is rpc:// (the default with an amqp:// broker): results go only to the process that sent the task, " +
                "so no other process can read them. Give --result-backend redis://... to both the senders and the workers to read results here.");
        }
        var result = app.Client.GetResult(cmd.Positionals[0]);
        if (cmd.Has("wait")) return await PrintAsync(result, cmd.GetSeconds("timeout") ?? TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        var stored = await result.GetStoredAsync(cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            Console.WriteLine("PENDING");
            return ExitCodes.Ok;
        }
        return Print(stored);
    }

    /// <summary>Waits, then prints the value (stdout) or the remote exception (stderr); returns the exit code.</summary>
    public static async Task<int> PrintAsync(AsyncResult result, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return Print(await result.WaitAsync(timeout, cancellationToken).ConfigureAwait(false));
        }
        catch (TimeoutException ex)
        {
            await Console.Error.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return ExitCodes.TimedOut;
        }
    }

    private static int Print(TaskResult stored)
    {
        switch (stored.State)
        {
            case TaskState.Success:
                Console.WriteLine(stored.Result?.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) ?? "null");
                return ExitCodes.Ok;
            case TaskState.Failure or TaskState.Revoked:
                Console.Error.WriteLine($"{stored.State.ToWire()}: {stored.Exception?.ToString() ?? PythonRepr.Of(stored.Result)}");
                return ExitCodes.Failed;
            default:
                Console.WriteLine(stored.State.ToWire());
                return ExitCodes.Ok;
        }
    }
}
