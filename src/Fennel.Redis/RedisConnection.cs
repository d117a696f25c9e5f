using StackExchange.Redis;

namespace Fennel.Redis;

/// <summary>
/// The multiplexer a transport and result store talk through: one Fennel opened (connected on first use, reconnecting on
/// its own, disposed with the last user) or one the application owns (never disposed by Fennel).
/// </summary>
internal sealed class RedisConnection : IAsyncDisposable
{
    private readonly Lazy<Task<IConnectionMultiplexer>> _multiplexer;
    private readonly bool _owned;
    private int _users;

    /// <summary>A connection Fennel opens to the server <paramref name="options"/> names.</summary>
    public RedisConnection(RedisOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Endpoint = options.Endpoint;
        _owned = true;
        _multiplexer = new(async () => await ConnectionMultiplexer.ConnectAsync(options.ToConfiguration()).ConfigureAwait(false));
    }

    /// <summary>The application's multiplexer; Fennel never disposes it.</summary>
    public RedisConnection(IConnectionMultiplexer multiplexer)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        Endpoint = string.Join(",", multiplexer.GetEndPoints().Select(e => e.ToString()));
        _multiplexer = new(Task.FromResult(multiplexer));
    }

    /// <summary>The server, for messages.</summary>
    public string Endpoint { get; }

    /// <summary>True once the last user let go of a connection Fennel owns.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>The connected (or reconnecting) multiplexer.</summary>
    public Task<IConnectionMultiplexer> GetAsync() => _multiplexer.Value;

    /// <summary>The database <paramref name="number"/>, once connected.</summary>
    public async Task<IDatabase> DatabaseAsync(int number)
    {
        try
        {
            return (await GetAsync().ConfigureAwait(false)).GetDatabase(number);
        }
        catch (Exception e) when (RedisErrors.IsRedis(e))
        {
            throw RedisErrors.Wrap(e, Endpoint, "connect");
        }
    }

    /// <summary>Awaits a Redis operation; a Redis failure becomes a <see cref="BrokerException"/> naming the server and <paramref name="what"/>.</summary>
    public async Task Guard(Task operation, string what)
    {
        ArgumentNullException.ThrowIfNull(operation);
        try
        {
            await operation.ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsRedis(e))
        {
            throw RedisErrors.Wrap(e, Endpoint, what);
        }
    }

    /// <inheritdoc cref="Guard(Task, string)"/>
    public async Task<T> Guard<T>(Task<T> operation, string what)
    {
        ArgumentNullException.ThrowIfNull(operation);
        try
        {
            return await operation.ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsRedis(e))
        {
            throw RedisErrors.Wrap(e, Endpoint, what);
        }
    }

    /// <summary>One more transport or result store uses this connection.</summary>
    public RedisConnection AddUser()
    {
        Interlocked.Increment(ref _users);
        return this;
    }

    /// <summary>A user let go; the last one closes a connection Fennel owns.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Decrement(ref _users) > 0 || !_owned || IsDisposed) return;
        IsDisposed = true;
        if (_multiplexer.IsValueCreated && _multiplexer.Value.IsCompletedSuccessfully)
        {
            await _multiplexer.Value.Result.DisposeAsync().ConfigureAwait(false);
        }
    }
}
