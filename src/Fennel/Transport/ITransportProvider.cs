namespace Fennel.Transport;

/// <summary>
/// Creates transports and result stores for URLs of one or more schemes (<c>sqlite</c>, <c>redis</c>, <c>amqp</c>,
/// <c>memory</c>). Transport packages register one in DI; the app picks the one whose scheme matches the broker URL.
/// </summary>
public interface ITransportProvider
{
    /// <summary>The URL schemes this provider serves, without <c>://</c>.</summary>
    IReadOnlyCollection<string> Schemes { get; }

    /// <summary>Creates the broker for <paramref name="url"/>. Throws <see cref="FennelConfigurationException"/> for a bad URL.</summary>
    ITransport CreateTransport(string url, IServiceProvider services);

    /// <summary>Creates the result store for <paramref name="url"/>, or null when this scheme has none.</summary>
    Results.IResultStore? CreateResultStore(string url, IServiceProvider services);
}
