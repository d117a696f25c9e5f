using System.Text;
using Fennel.Testing;
using Fennel.Transport;
using Microsoft.Data.Sqlite;

namespace Fennel.Sqlite.Tests;

/// <summary>What the SQLite broker does beyond the shared suite: many processes on one file, durability, the schema.</summary>
public sealed class SqliteTransportTests(TemporaryFolder folder) : IClassFixture<TemporaryFolder>
{
    private static readonly TimeSpan LongLease = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Two_transports_on_one_file_never_hand_out_the_same_message()
    {
        // Two instances on one file stand for two worker processes: they share nothing but the file.
        var path = folder.NewFilePath("fennel.db");
        await using var first = new SqliteTransport(new SqliteOptions { Path = path });
        await using var second = new SqliteTransport(new SqliteOptions { Path = path });
        const int count = 500;
        await first.PublishBatchAsync(Enumerable.Range(0, count).Select(i => new OutgoingMessage("work", TextMessages.Envelope($"m{i}"))).ToList());

        var seen = await CompetingConsumers.RunAsync([first, second, first, second], "work", count);

        Assert.Equal(count, seen.Count);
        Assert.Equal(count, seen.Distinct().Count());
        Assert.Equal(0, await second.GetQueueLengthAsync("work"));
    }

    [Fact]
    public async Task Publish_on_one_transport_reaches_a_fetch_waiting_on_another()
    {
        var path = folder.NewFilePath("fennel.db");
        await using var producer = new SqliteTransport(new SqliteOptions { Path = path });
        await using var worker = new SqliteTransport(new SqliteOptions { Path = path });
        var fetch = worker.FetchAsync(["celery"], 1, LongLease, TimeSpan.FromSeconds(20));

        await producer.PublishAsync(new OutgoingMessage("celery", TextMessages.Envelope("hello")));

        var delivery = Assert.Single(await fetch.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("hello", TextMessages.TextOf(delivery));
    }

    [Fact]
    public async Task Schema_is_created_on_a_fresh_file()
    {
        var path = folder.NewFilePath("fennel.db");
        Assert.False(Directory.Exists(Path.GetDirectoryName(path)));

        await using (var transport = new SqliteTransport(new SqliteOptions { Path = path }))
        {
            await transport.DeclareQueueAsync("declared");
        }

        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        Assert.Equal(3L, await ScalarAsync(connection, "PRAGMA user_version"));
        Assert.Equal("wal", await ScalarAsync(connection, "PRAGMA journal_mode"));
        foreach (var table in new[] { "queues", "messages", "dead_letters", "results", "revokes", "broadcasts", "rate_limits" })
        {
            Assert.Equal(1L, await ScalarAsync(connection, $"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"));
        }
        Assert.Equal("declared", await ScalarAsync(connection, "SELECT name FROM queues"));
    }

    [Fact]
    public async Task A_version_1_file_is_upgraded_with_the_revokes_table_and_keeps_its_messages()
    {
        var path = folder.NewFilePath("fennel.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            // Version 1 as Fennel wrote it, with one waiting message.
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE queues (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE messages (id INTEGER PRIMARY KEY, queue TEXT NOT NULL, priority INTEGER NOT NULL, body BLOB NOT NULL,
                    visible_at INTEGER NOT NULL, lease_owner TEXT NULL, delivery_count INTEGER NOT NULL DEFAULT 0, enqueued_at INTEGER NOT NULL);
                CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, priority INTEGER NOT NULL,
                    body BLOB NOT NULL, reason TEXT NOT NULL, dead_lettered_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL);
                CREATE TABLE results (task_id TEXT PRIMARY KEY, state TEXT NOT NULL, body BLOB NOT NULL, date_done INTEGER NULL,
                    expires_at INTEGER NOT NULL);
                INSERT INTO messages (queue, priority, body, visible_at, enqueued_at) VALUES ('celery', 0, x'6869', 0, 0);
                PRAGMA user_version = 1;
                """;
            await command.ExecuteNonQueryAsync();
        }

        await using var transport = new SqliteTransport(new SqliteOptions { Path = path });
        Assert.Equal(1, await transport.GetQueueLengthAsync("celery"));
        var now = DateTimeOffset.UtcNow;
        await transport.AddRevokesAsync([new Revocation("t-1", false, now, now.AddHours(1))]);
        Assert.Equal("t-1", Assert.Single((await transport.ReadRevokesAsync(null, 10)).Revocations).TaskId);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_version_2_file_is_upgraded_in_place_with_broadcasts_and_rate_limits(bool rateLimitsCreatedOnFirstUse)
    {
        var path = folder.NewFilePath("fennel.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            // Version 2 as Fennel wrote it, with one waiting message, one revoke and, when a rate limit was used, its table.
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE queues (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE messages (id INTEGER PRIMARY KEY, queue TEXT NOT NULL, priority INTEGER NOT NULL, body BLOB NOT NULL,
                    visible_at INTEGER NOT NULL, lease_owner TEXT NULL, delivery_count INTEGER NOT NULL DEFAULT 0, enqueued_at INTEGER NOT NULL);
                CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, priority INTEGER NOT NULL,
                    body BLOB NOT NULL, reason TEXT NOT NULL, dead_lettered_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL);
                CREATE TABLE results (task_id TEXT PRIMARY KEY, state TEXT NOT NULL, body BLOB NOT NULL, date_done INTEGER NULL,
                    expires_at INTEGER NOT NULL);
                CREATE TABLE revokes (id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, terminate INTEGER NOT NULL,
                    revoked_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
                INSERT INTO messages (queue, priority, body, visible_at, enqueued_at) VALUES ('celery', 0, x'6869', 0, 0);
                INSERT INTO revokes (task_id, terminate, revoked_at, expires_at) VALUES ('t-old', 0, 0, 9999999999999);
                PRAGMA user_version = 2;
                """;
            if (rateLimitsCreatedOnFirstUse)
            {
                command.CommandText += """
                    CREATE TABLE rate_limits (name TEXT PRIMARY KEY, free_at INTEGER NOT NULL) WITHOUT ROWID;
                    INSERT INTO rate_limits (name, free_at) VALUES ('tasks.slow', 9999999999999999);
                    """;
            }
            await command.ExecuteNonQueryAsync();
        }

        await using var transport = new SqliteTransport(new SqliteOptions { Path = path });
        Assert.Equal(1, await transport.GetQueueLengthAsync("celery"));
        Assert.Equal("t-old", Assert.Single((await transport.ReadRevokesAsync(null, 10)).Revocations).TaskId);
        var wait = await transport.TryTakeTurnAsync("tasks.slow", TimeSpan.FromSeconds(1));
        Assert.Equal(rateLimitsCreatedOnFirstUse, wait > TimeSpan.Zero);
        var received = new TaskCompletionSource<BroadcastMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (await transport.SubscribeAsync("celeryev", "#", m => { received.TrySetResult(m); return Task.CompletedTask; }))
        {
            await transport.BroadcastAsync("celeryev", "worker.online", Encoding.UTF8.GetBytes("hello"));
            Assert.Equal("worker.online", (await received.Task.WaitAsync(TimeSpan.FromSeconds(15))).RoutingKey);
        }
        await using var connection2 = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection2.OpenAsync();
        Assert.Equal(3L, await ScalarAsync(connection2, "PRAGMA user_version"));
    }

    [Fact]
    public async Task A_file_with_a_newer_schema_is_refused()
    {
        var path = folder.NewFilePath("fennel.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await ScalarAsync(connection, "PRAGMA user_version = 99");
        }

        await using var transport = new SqliteTransport(new SqliteOptions { Path = path });

        var error = await Assert.ThrowsAsync<FennelConfigurationException>(() => transport.GetQueueLengthAsync("celery"));
        Assert.Contains("99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Message_survives_closing_and_reopening_the_file()
    {
        var path = folder.NewFilePath("fennel.db");
        await using (var producer = new SqliteTransport(new SqliteOptions { Path = path }))
        {
            await producer.PublishAsync(new OutgoingMessage("durable", TextMessages.Envelope("still here"), Priority: 3));
        }
        SqliteConnection.ClearAllPools();

        await using var reopened = new SqliteTransport(new SqliteOptions { Path = path });
        var delivery = Assert.Single(await reopened.FetchAsync(["durable"], 10, LongLease, TimeSpan.FromSeconds(10)));

        Assert.Equal("still here", TextMessages.TextOf(delivery));
        Assert.Equal(1, delivery.DeliveryCount);
    }

    [Fact]
    public async Task Delivery_tag_of_another_transport_is_rejected()
    {
        await using var transport = new SqliteTransport(new SqliteOptions { Path = folder.NewFilePath("fennel.db") });
        var foreign = new Delivery("celery", Encoding.UTF8.GetBytes("x"), Guid.NewGuid().ToString("N"), 1);

        await Assert.ThrowsAsync<ArgumentException>(() => transport.AckAsync(foreign));
    }

    [Fact]
    public async Task Fetch_with_an_endless_wait_can_be_cancelled()
    {
        await using var transport = new SqliteTransport(new SqliteOptions { Path = folder.NewFilePath("fennel.db") });
        using var cancel = new CancellationTokenSource();
        var fetch = transport.FetchAsync(["celery"], 1, LongLease, TimeSpan.MaxValue, cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Operations_after_dispose_throw()
    {
        var transport = new SqliteTransport(new SqliteOptions { Path = folder.NewFilePath("fennel.db") });
        await transport.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => transport.GetQueueLengthAsync("celery"));
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
