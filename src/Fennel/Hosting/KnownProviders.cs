using System.Reflection;
using Fennel.Transport;

namespace Fennel;

/// <summary>
/// The transports Fennel ships, found by scheme when the app references their package but did not register them:
/// a reference to Fennel.Sqlite is enough for the default <c>sqlite:///fennel.db</c> to work.
/// </summary>
internal static class KnownProviders
{
    private static readonly Dictionary<string, (string Assembly, string Type)> BySchema = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sqlite"] = ("Fennel.Sqlite", "Fennel.Sqlite.SqliteTransportProvider"),
        ["redis"] = ("Fennel.Redis", "Fennel.Redis.RedisTransportProvider"),
        ["rediss"] = ("Fennel.Redis", "Fennel.Redis.RedisTransportProvider"),
        ["amqp"] = ("Fennel.RabbitMQ", "Fennel.RabbitMQ.RabbitMQTransportProvider"),
        ["amqps"] = ("Fennel.RabbitMQ", "Fennel.RabbitMQ.RabbitMQTransportProvider"),
    };

    public static ITransportProvider? Load(string scheme)
    {
        if (!BySchema.TryGetValue(scheme, out var known)) return null;
        try
        {
            var type = Assembly.Load(known.Assembly).GetType(known.Type, throwOnError: false);
            return type is null ? null : (ITransportProvider?)Activator.CreateInstance(type);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    public static string Missing(string scheme, string url, string what) => BySchema.TryGetValue(scheme, out var known)
        ? $"The {what} URL '{url}' needs the {known.Assembly} package: add a reference to it."
        : $"The {what} URL '{url}' has an unknown scheme '{scheme}://'; Fennel knows sqlite://, redis://, rediss://, amqp://, amqps:// and memory://.";
}
