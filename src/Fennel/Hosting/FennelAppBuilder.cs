using Fennel.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Fennel;

/// <summary>
/// Configures a <see cref="FennelApp"/>: services, configuration, logging and options. Create with
/// <see cref="FennelApp.CreateBuilder"/>, then <see cref="Build"/>.
/// </summary>
public sealed class FennelAppBuilder
{
    private readonly HostApplicationBuilder _host;
    private readonly List<Action<FennelOptions>> _configure = [];
    private bool _built;

    internal FennelAppBuilder(string[] args)
    {
        Args = args;
        _host = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [], // Fennel parses its own command line (Celery's flags); see GlobalArguments
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = AppDomain.CurrentDomain.FriendlyName,
        });
        _host.Configuration.AddInMemoryCollection(FennelEnvironmentVariables.Read(System.Environment.GetEnvironmentVariables()));
        var global = GlobalArguments.Parse(args);
        _host.Configuration.AddInMemoryCollection(global.Configuration);
        _host.Logging.ClearProviders();
        _host.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        // Logs go to stderr; stdout is for what commands print (results, tables, the demo's report).
        _host.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        _host.Logging.SetMinimumLevel(global.LogLevel ?? LogLevel.Information);
        _host.Logging.AddFilter("Microsoft", LogLevel.Warning);
        if (global.LogFile is not null && LogFilePath(global) is { } logFile) _host.Logging.AddProvider(new Logging.FileLoggerProvider(logFile));
    }

    /// <summary>
    /// The <c>--logfile</c> path with Celery's substitutions for this process (<see cref="Worker.NodeNames.FormatPath"/>,
    /// index 0 in a worker, the child's index in a process pool child), the node being <c>-n</c>, else <c>Fennel:Worker:NodeName</c>, else <c>celery@%h</c>. A pattern with an
    /// unknown substitution gives null: no file, and the command line reports it (exit 64) before anything runs.
    /// </summary>
    private string? LogFilePath(GlobalArguments global)
    {
        var node = global.NodeName ?? _host.Configuration["Fennel:Worker:NodeName"] ?? new Worker.WorkerOptions().NodeName;
        try
        {
            return Worker.NodeNames.FormatPath(global.LogFile!, Worker.NodeNames.Expand(node), Worker.Pools.ProcessPoolChild.ProcessIndex);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The command-line arguments the app was started with.</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>Services for task handlers (they are injected into handler parameters).</summary>
    public IServiceCollection Services => _host.Services;

    /// <summary>Configuration: appsettings.json, environment, <c>FENNEL_*</c> variables, command line.</summary>
    public IConfigurationManager Configuration => _host.Configuration;

    /// <summary>Logging.</summary>
    public ILoggingBuilder Logging => _host.Logging;

    /// <summary>The host environment.</summary>
    public IHostEnvironment Environment => _host.Environment;

    /// <summary>Sets options in code; configuration (file, environment, command line) overrides what is set here.</summary>
    public FennelAppBuilder Configure(Action<FennelOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _configure.Add(configure);
        return this;
    }

    /// <summary>
    /// Builds the app. Bad options do not throw here: they are kept in <see cref="FennelApp.ConfigurationError"/> and
    /// thrown on first use of the broker, so the command line can report them as one clear line.
    /// </summary>
    public FennelApp Build()
    {
        if (_built) throw new InvalidOperationException("Build() was already called on this builder.");
        _built = true;
        var options = new FennelOptions();
        foreach (var configure in _configure) configure(options);
        FennelConfigurationException? error = null;
        try
        {
            _host.Configuration.GetSection("Fennel").Bind(options);
            options.Validate();
        }
        catch (InvalidOperationException ex)
        {
            error = new FennelConfigurationException($"Bad value in the Fennel configuration: {ex.Message}{(ex.InnerException is null ? "" : " " + ex.InnerException.Message)}");
        }
        catch (FennelConfigurationException ex)
        {
            error = ex;
        }
        _host.Services.AddSingleton(options);
        _host.Services.TryAddSingleton(TimeProvider.System);
        return new FennelApp(_host.Build(), options, [.. Args], error);
    }
}
