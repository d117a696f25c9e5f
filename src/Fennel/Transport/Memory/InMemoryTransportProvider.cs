using Fennel.Results;

namespace Fennel.Transport.Memory;

/// <summary>
/// Serves <c>memory://</c> URLs. Every URL with the same name (<c>memory://</c>, <c>memory://tests</c>) shares one broker
/// and one result store within this provider, so a producer and workers of one app meet.
/// </summary>
public sealed class InMemoryTransportProvider : ITransportProvider
{
    private readonly Dictionary<string, (InMemoryTransport Transport, InMemoryResultStore Results)> _instances = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <inheritdoc />
    public IReadOnlyCollection<string> Schemes { get; } = ["memory"];

    /// <inheritdoc />
    public ITransport CreateTransport(string url, IServiceProvider services) => Instance(url, services).Transport;

    /// <inheritdoc />
    public IResultStore? CreateResultStore(string url, IServiceProvider services) => Instance(url, services).Results;

    private (InMemoryTransport Transport, InMemoryResultStore Results) Instance(string url, IServiceProvider services)
    {
        var name = url.Length > "memory://".Length ? url["memory://".Length..] : "";
        var time = services.GetService(typeof(TimeProvider)) as TimeProvider ?? TimeProvider.System;
        lock (_gate)
        {
            if (!_instances.TryGetValue(name, out var instance))
            {
                _instances[name] = instance = (new InMemoryTransport(time), new InMemoryResultStore(time));
            }
            return instance;
        }
    }
}
