using Fennel.Cli.CommandLine;
using Fennel.Cli.Commands;
using Fennel.Protocol;

namespace Fennel.Cli;

/// <summary>
/// The command line of a Fennel app: <c>worker</c>, <c>call</c>, <c>result</c>, <c>revoke</c>, <c>purge</c>,
/// <c>dead-letters</c>, <c>inspect</c>, <c>control</c>, <c>status</c>, <c>events</c>, <c>dashboard</c>, plus the app's own commands.
/// Errors end as one clear line on stderr and an exit code from <see cref="ExitCodes"/>.
/// </summary>
public static class FennelCli
{
    /// <summary>The built-in commands.</summary>
    public static IReadOnlyList<CommandSpec> BuiltIn { get; } =
    [
        WorkerCommand.Spec, CallCommand.Spec, ResultCommand.Spec, RevokeCommand.Spec, PurgeCommand.Spec, DeadLettersCommand.Spec,
        InspectCommand.Spec, ControlCommand.Spec, StatusCommand.Spec, EventsCommand.Spec, DashboardCommand.Spec,
    ];

    /// <summary>
    /// Runs the command named by <paramref name="args"/>[0] and returns the exit code. In a child process of the process
    /// pool (<c>worker -P process</c> starts the app again for each child) it runs the child loop instead, so an app whose
    /// workers use the process pool must come here (or to <c>app.RunAsync(args)</c>) with its command line.
    /// </summary>
    /// <param name="app">The app.</param>
    /// <param name="args">The command line.</param>
    /// <param name="extraCommands">The app's own commands (the sample's <c>demo</c>, say).</param>
    /// <param name="cancellationToken">Stops the command.</param>
    public static async Task<int> RunAsync(FennelApp app, IReadOnlyList<string> args, IReadOnlyList<CommandSpec>? extraCommands = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(args);
        // A process pool child: the worker started this process again with the same arguments to run tasks, not the command.
        if (Fennel.Worker.Pools.ProcessPoolChild.IsChild) return await Fennel.Worker.Pools.ProcessPoolChild.RunAsync(app).ConfigureAwait(false);
        var commands = BuiltIn.Concat(extraCommands ?? []).ToList();
        var program = ProgramName();
        if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Overview(program, commands));
            return args.Count == 0 ? ExitCodes.Usage : ExitCodes.Ok;
        }
        if (args[0] == "--version")
        {
            Console.WriteLine(typeof(FennelApp).Assembly.GetName().Version?.ToString(3));
            return ExitCodes.Ok;
        }
        if (app.ConfigurationError is { } error) return await FailAsync(error.Message, ExitCodes.Config).ConfigureAwait(false);
        var command = commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null)
        {
            await Console.Error.WriteLineAsync($"error: unknown command '{args[0]}'. Commands: {string.Join(", ", commands.Select(c => c.Name))}. See '{program} --help'.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        try
        {
            var parsed = CommandLineParser.Parse(command, args.Skip(1).ToList());
            if (parsed.Has("help"))
            {
                Console.WriteLine(command.Help(program));
                return ExitCodes.Ok;
            }
            if (parsed.Get("loglevel") is { } level && GlobalArguments.ParseLevel(level) is null)
            {
                throw new UsageException($"Unknown log level '{level}'; choose debug, info, warning, error or critical.");
            }
            if (parsed.Get("logfile") is { } logFile) WorkerCommand.FormatPath("--logfile", logFile, "celery@localhost");
            return await command.Run(app, parsed, cancellationToken).ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            return await FailAsync(ex.Message, ExitCodes.Usage).ConfigureAwait(false);
        }
        catch (FennelConfigurationException ex)
        {
            return await FailAsync(ex.Message, ExitCodes.Config).ConfigureAwait(false);
        }
        catch (MessageFormatException ex)
        {
            return await FailAsync(ex.Message, ExitCodes.Failed).ConfigureAwait(false);
        }
        catch (FennelException ex)
        {
            // The broker is down (transient) or refused us for good (a wrong password, a missing vhost): unavailable either way.
            return await FailAsync(ex.Message, ExitCodes.Unavailable).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Failed;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not one of ours: a bug. The whole exception, so the report has the stack, and the documented code instead of
            // the runtime's abort (134), so a supervisor's log says what it was.
            return await FailAsync("internal error (a bug: please report it with this output): " + ex, ExitCodes.Software).ConfigureAwait(false);
        }
    }

    private static async Task<int> FailAsync(string message, int code)
    {
        await Console.Error.WriteLineAsync("error: " + message).ConfigureAwait(false);
        return code;
    }

    private static string ProgramName()
    {
        var name = AppDomain.CurrentDomain.FriendlyName;
        return string.IsNullOrEmpty(name) ? "fennel" : name;
    }

    private static string Overview(string program, IReadOnlyList<CommandSpec> commands)
    {
        var lines = new List<string> { $"Usage: {program} COMMAND [options]", "", "Commands:" };
        var width = commands.Max(c => c.Name.Length);
        lines.AddRange(commands.Select(c => $"  {c.Name.PadRight(width)}  {c.Summary}"));
        lines.Add("");
        lines.Add("Options for every command:");
        lines.AddRange(OptionSpec.Global.Select(o => $"  {string.Join(", ", o.Names) + (o.TakesValue ? " " + o.ValueName : ""),-34} {o.Help}"));
        lines.Add("");
        lines.Add($"Run '{program} COMMAND --help' for the options of a command.");
        return string.Join(Environment.NewLine, lines);
    }
}
