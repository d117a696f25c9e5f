using Fennel.Tasks;
using Fennel.Results;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Fennel.Redis.Tests;

public sealed class ProviderTests
{
    [Fact]
    public async Task A_redis_url_works_with_just_a_reference_and_broker_and_results_share_one_connection()
    {
        await using var app = FennelApp.CreateBuilder(["-b", RedisTestDatabase.Url(), "--result-backend", RedisTestDatabase.Url(), "-l", "warning"]).Build();
        var queue = "provider-" + Guid.NewGuid().ToString("N")[..8];
        app.Task<int, int, int>("provider.add", (int x, int y) => x + y);
        await using var worker = app.CreateWorker(o => o.Queues = [queue]);
        await worker.StartAsync();

        var handle = await app.Client.SendTaskAsync("provider.add", [2, 3], options: new CallOptions { Queue = queue });
        var result = await handle.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(TaskState.Success, result.State);
        Assert.Equal(5, (int)result.Result!);
        Assert.IsType<RedisTransport>(app.Transport);
        Assert.IsType<RedisResultStore>(app.Results);
    }

    [Fact]
    public async Task The_applications_multiplexer_is_used_and_never_disposed()
    {
        var options = RedisOptions.Parse(RedisTestDatabase.Url()).ToConfiguration();
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
        var builder = FennelApp.CreateBuilder(["-b", RedisTestDatabase.Url(), "-l", "warning"]);
        builder.Services.AddFennelRedis(multiplexer);
        var queue = "owned-" + Guid.NewGuid().ToString("N")[..8];

        await using (var app = builder.Build())
        {
            await app.Client.SendTaskAsync("owned.task", [1], options: new CallOptions { Queue = queue });
            Assert.Equal(1, await app.Transport.GetQueueLengthAsync(queue));
        }

        Assert.True(multiplexer.IsConnected);
        Assert.Equal(1, await multiplexer.GetDatabase(RedisTestDatabase.Number).ListLengthAsync(queue));
        await multiplexer.GetDatabase(RedisTestDatabase.Number).KeyDeleteAsync(queue);
    }
}
