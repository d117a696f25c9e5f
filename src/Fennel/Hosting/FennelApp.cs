using System.Text.Json;
using System.Text.RegularExpressions;
using Fennel.Calling;
using Fennel.Configuration;
using Fennel.Protocol;
using Fennel.Results;
using Fennel.Routing;
using Fennel.Tasks;
using Fennel.Transport;
using Fennel.Transport.Memory;
using Fennel.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fennel;

/// <summary>
/// A Fennel application: its tasks, its routes, its broker and result store, and the client that sends tasks.
/// The same app object serves producers (send tasks) and workers (run them); <c>app.RunAsync(args)</c> from the
/// Fennel.Cli package gives it the <c>worker</c>, <c>call</c>, <c>result</c> and <c>purge</c> commands.
/// </summary>
public sealed partial class FennelApp : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly Lazy<ITransport> _transport;
    private readonly Lazy<IResultStore> _results;
    private readonly List<Worker.Worker> _workers = [];

    internal FennelApp(IHost host, FennelOptions options, string[] args, FennelConfigurationException? configurationError)
    {
        _host = host;
        ConfigurationError = configurationError;
        Options = options;
        Args = args;
        TimeProvider = host.Services.GetRequiredService<TimeProvider>();
        LoggerFactory = host.Services.GetRequiredService<ILoggerFactory>();
        Json = KombuJson.CreateOptions(options.JsonTypeTags);
        Routes = new TaskRoutes(options.DefaultQueue);
        _transport = new Lazy<ITransport>(() =>
        {
            ThrowIfMisconfigured();
            return ProviderFor(options.EffectiveBrokerUrl, "broker").CreateTransport(options.EffectiveBrokerUrl, Services);
        });
        _results = new Lazy<IResultStore>(() =>
        {
            ThrowIfMisconfigured();
            return ProviderFor(options.EffectiveResultBackend, "result backend").CreateResultStore(options.EffectiveResultBackend, Services)
            ?? throw new FennelConfigurationException(
                $"The URL '{BrokerUrls.Redact(options.EffectiveResultBackend)}' cannot store results; set Fennel:ResultBackend (--result-backend).");
        });
        Client = new FennelClient(() => _transport.Value, () => _results.Value, Tasks, Routes, Json, TimeProvider, options.RevokeExpires, Clock,
            LoggerFactory.CreateLogger("Fennel.Control"));
        if (options.Eager) Client.RunEagerly = new EagerRunner(this).RunAsync;
        Client.EventLogger = LoggerFactory.CreateLogger("Fennel.Events");
        Client.TaskSentEvents = options.TaskSentEvents;
    }

    /// <summary>This process's Lamport clock, shared by the events and control messages it sends and receives.</summary>
    public Events.LamportClock Clock { get; } = new();

    /// <summary>Starts configuring an app. <paramref name="args"/> are the command-line arguments (for <c>-b</c>, <c>-l</c>, ...).</summary>
    public static FennelAppBuilder CreateBuilder(string[]? args = null) => new(args ?? []);

    /// <summary>What is wrong with the configuration, or null. Thrown on first use of the broker or a worker.</summary>
    public FennelConfigurationException? ConfigurationError { get; }

    /// <summary>The options in force.</summary>
    public FennelOptions Options { get; }

    /// <summary>The command-line arguments given to <see cref="CreateBuilder"/>.</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>The app's services (handlers get theirs from a scope of this provider).</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>The configuration.</summary>
    public IConfiguration Configuration => _host.Services.GetRequiredService<IConfiguration>();

    /// <summary>Creates loggers.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Serializer options for task arguments and results.</summary>
    public JsonSerializerOptions Json { get; }

    /// <summary>The registered tasks.</summary>
    public TaskRegistry Tasks { get; } = new();

    /// <summary>The routers.</summary>
    public TaskRoutes Routes { get; }

    /// <summary>Sends tasks, by handle or by name.</summary>
    public FennelClient Client { get; }

    /// <summary>Publishes task messages: the client's sends and the workers' retries.</summary>
    internal Calling.TaskPublisher Publisher => Client.Publisher;

    /// <summary>The broker, connected on first use.</summary>
    public ITransport Transport => _transport.Value;

    /// <summary>The result store, connected on first use.</summary>
    public IResultStore Results => _results.Value;

    /// <summary>A handle for a task by name, registered here or not (a Python task, say).</summary>
    public TaskHandle Signature(string name) => new(name, Client);

    /// <summary>Routes tasks matching a glob (<c>customers.*</c>) or an exact name to a queue.</summary>
    public FennelApp Route(string pattern, string queue)
    {
        Routes.Add(pattern, queue);
        return this;
    }

    /// <summary>Routes tasks matching a regular expression to a queue.</summary>
    public FennelApp Route(Regex pattern, string queue)
    {
        Routes.Add(pattern, queue);
        return this;
    }

    /// <summary>Adds a router class; routers answer in the order added.</summary>
    public FennelApp Route(ITaskRouter router)
    {
        Routes.Add(router);
        return this;
    }

    /// <summary>
    /// Creates a worker with the app's worker options (<c>Fennel:Worker</c>), adjusted by <paramref name="configure"/>.
    /// Start it with <see cref="Worker.Worker.StartAsync"/>.
    /// </summary>
    public Worker.Worker CreateWorker(Action<WorkerOptions>? configure = null)
    {
        ThrowIfMisconfigured();
        if (Worker.Pools.ProcessPoolChild.IsChild)
        {
            // Without this, an app that builds its worker itself would start a pool in every child: processes without end.
            throw new FennelConfigurationException("This process was started as a process pool child, but the app creates a worker instead of " +
                "running the child loop. The process pool runs the app again with the same arguments; hand them to app.RunAsync(args) " +
                "(Fennel.Cli), which runs the child loop, or use -P threads.");
        }
        var options = Options.Worker.Clone();
        configure?.Invoke(options);
        options.Validate();
        var worker = new Worker.Worker(this, options);
        lock (_workers) _workers.Add(worker);
        return worker;
    }

    /// <summary>Stops workers it created (warm) and closes the broker and the result store.</summary>
    public async ValueTask DisposeAsync()
    {
        List<Worker.Worker> workers;
        lock (_workers) workers = [.. _workers];
        foreach (var worker in workers) await worker.DisposeAsync().ConfigureAwait(false);
        await Client.DisposeEventsAsync().ConfigureAwait(false);
        if (_transport.IsValueCreated) await _transport.Value.DisposeAsync().ConfigureAwait(false);
        if (_results.IsValueCreated && !ReferenceEquals(_results.Value, _transport.Value)) await _results.Value.DisposeAsync().ConfigureAwait(false);
        _host.Dispose();
    }

    private void ThrowIfMisconfigured()
    {
        if (ConfigurationError is not null) throw ConfigurationError;
    }

    private ITransportProvider ProviderFor(string url, string what)
    {
        var scheme = BrokerUrls.Scheme(url, what + " URL");
        var providers = Services.GetServices<ITransportProvider>().Append(MemoryProvider);
        if (providers.FirstOrDefault(p => p.Schemes.Contains(scheme, StringComparer.OrdinalIgnoreCase)) is { } provider) return provider;
        // One instance per scheme, so the broker and the result store on one server can share its connection.
        if (_knownProviders.GetOrAdd(scheme.ToLowerInvariant(), KnownProviders.Load) is { } known) return known;
        throw new FennelConfigurationException(KnownProviders.Missing(scheme, BrokerUrls.Redact(url), what));
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ITransportProvider?> _knownProviders = new(StringComparer.Ordinal);

    private InMemoryTransportProvider MemoryProvider => field ??= new InMemoryTransportProvider();
}
