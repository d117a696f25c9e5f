using Fennel.Testing.Servers;
using StackExchange.Redis;

namespace Fennel.Redis.Tests;

/// <summary>This project's database on the shared test server (<see cref="RedisTestServer"/>), and a client for looking at keys.</summary>
internal static class RedisTestDatabase
{
    public const int Number = 1;

    private static readonly Lazy<ConnectionMultiplexer> Connection = new(() =>
    {
        var options = RedisOptions.Parse(Url()).ToConfiguration();
        options.AllowAdmin = true;
        return ConnectionMultiplexer.Connect(options);
    });

    /// <summary>The URL of this project's database, with optional query options.</summary>
    public static string Url(string query = "") => RedisTestServer.Url(Number) + query;

    /// <summary>A direct client on this project's database, for looking at what the transport wrote.</summary>
    public static IDatabase Database => Connection.Value.GetDatabase(Number);

    public static ISubscriber Subscriber => Connection.Value.GetSubscriber();

    public static RedisTransport NewTransport(string query = "") => new(RedisOptions.Parse(Url(query)));

    public static RedisResultStore NewResultStore(string query = "") => new(RedisOptions.Parse(Url(query)));
}
