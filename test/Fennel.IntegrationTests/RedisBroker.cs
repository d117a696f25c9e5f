using Fennel.Protocol;
using Fennel.Redis;
using StackExchange.Redis;

namespace Fennel.IntegrationTests;

/// <summary>Looking into a Redis broker from a test: what it still holds, and a clean database to start from.</summary>
internal static class RedisBroker
{
    /// <summary>Empties the database <paramref name="url"/> names.</summary>
    public static async Task FlushAsync(string url)
    {
        var configuration = RedisOptions.Parse(url).ToConfiguration();
        configuration.AllowAdmin = true;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(configuration);
        await connection.GetDatabase().ExecuteAsync("FLUSHDB");
    }

    /// <summary>The task ids of every message waiting in a list or held in kombu's <c>unacked</c> hash.</summary>
    public static async Task<HashSet<string>> ReadUnacknowledgedTaskIdsAsync(string url)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(RedisOptions.Parse(url).ToConfiguration());
        var database = connection.GetDatabase();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in connection.GetServers()[0].Keys(database.Database))
        {
            var type = await database.KeyTypeAsync(key);
            if (type == RedisType.List && !((string)key!).StartsWith('_'))
            {
                foreach (var value in await database.ListRangeAsync(key)) ids.Add(TaskEnvelope.Decode((byte[])value!).Message.Id);
            }
        }
        foreach (var entry in await database.HashValuesAsync("unacked"))
        {
            using var document = System.Text.Json.JsonDocument.Parse((string)entry!);
            ids.Add(TaskEnvelope.Decode(System.Text.Encoding.UTF8.GetBytes(document.RootElement[0].GetRawText())).Message.Id);
        }
        return ids;
    }
}
