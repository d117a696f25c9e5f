using System.Text.Json.Nodes;
using System.Text;
using Fennel.Results;
using Fennel.Testing;
using Fennel.Transport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Fennel.Sqlite.Tests;

/// <summary>What the SQLite result store does beyond the shared suite.</summary>
public sealed class SqliteResultStoreTests(TemporaryFolder folder) : IClassFixture<TemporaryFolder>
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Results_expire_and_are_deleted_by_a_later_write()
    {
        var path = folder.NewFilePath("fennel.db");
        var clock = new FakeTimeProvider(Start);
        await using var store = new SqliteResultStore(new SqliteOptions { Path = path }, clock);
        await store.StoreAsync(Result("old"), TimeSpan.FromMinutes(1));
        Assert.NotNull(await store.GetAsync("old"));

        clock.SetUtcNow(Start.AddMinutes(2));
        Assert.Null(await store.GetAsync("old"));
        await store.StoreAsync(Result("new"), TimeSpan.FromMinutes(1));

        Assert.Equal(["new"], await TaskIdsAsync(path));
    }

    [Fact]
    public async Task A_result_that_never_expires_is_kept()
    {
        await using var store = new SqliteResultStore(new SqliteOptions { Path = folder.NewFilePath("fennel.db") });

        await store.StoreAsync(Result("forever"), TimeSpan.MaxValue);

        Assert.NotNull(await store.GetAsync("forever"));
    }

    [Fact]
    public async Task Results_and_messages_share_one_file()
    {
        var path = folder.NewFilePath("fennel.db");
        await using var transport = new SqliteTransport(new SqliteOptions { Path = path });
        await using var store = new SqliteResultStore(new SqliteOptions { Path = path });

        await transport.PublishAsync(new OutgoingMessage("celery", TextMessages.Envelope("task")));
        await store.StoreAsync(Result("shared"), TimeSpan.FromHours(1));

        Assert.Equal(1, await transport.GetQueueLengthAsync("celery"));
        Assert.Equal(TaskState.Success, (await store.GetAsync("shared"))?.State);
    }

    [Fact]
    public async Task Stored_bytes_are_celery_result_json()
    {
        var path = folder.NewFilePath("fennel.db");
        await using var store = new SqliteResultStore(new SqliteOptions { Path = path });

        await store.StoreAsync(Result("json"), TimeSpan.FromHours(1));

        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT state, body FROM results WHERE task_id = 'json'";
        using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("SUCCESS", reader.GetString(0));
        var json = JsonNode.Parse(reader.GetFieldValue<byte[]>(1))!.AsObject();
        Assert.Equal("SUCCESS", (string?)json["status"]);
        Assert.Equal("json", (string?)json["task_id"]);
        Assert.Equal(42, (int?)json["result"]);
    }

    private static TaskResult Result(string taskId) => new()
    {
        TaskId = taskId,
        State = TaskState.Success,
        Result = JsonValue.Create(42),
        DateDone = Start,
    };

    private static async Task<List<string>> TaskIdsAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT task_id FROM results ORDER BY task_id";
        using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync()) ids.Add(reader.GetString(0));
        return ids;
    }
}
