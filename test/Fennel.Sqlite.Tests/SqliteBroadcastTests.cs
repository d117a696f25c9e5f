using System.Text;
using System.Threading.Channels;
using Fennel.Transport;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Fennel.Sqlite.Tests;

/// <summary>What SQLite broadcast does beyond the shared suite: many processes on one file, and a table that stays small.</summary>
public sealed class SqliteBroadcastTests(TemporaryFolder folder) : IClassFixture<TemporaryFolder>
{
    private static readonly TimeSpan Arrival = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Every_process_on_one_file_receives_everything_broadcast_after_it_subscribed()
    {
        // Spelled differently, the path gives each transport its own in-process wake-up signal, as two processes have:
        // they hear each other only by polling the file.
        var path = folder.NewFilePath("fennel.db");
        var otherSpelling = Path.Combine(Path.GetDirectoryName(path)!, ".", Path.GetFileName(path));
        await using var first = new SqliteTransport(new SqliteOptions { Path = path });
        await using var second = new SqliteTransport(new SqliteOptions { Path = otherSpelling });
        await first.BroadcastAsync("celery.pidbox", "", Encoding.UTF8.GetBytes("before anyone subscribed"));
        var firstInbox = Channel.CreateUnbounded<string>();
        var secondInbox = Channel.CreateUnbounded<string>();
        await using var a = await first.SubscribeAsync("celery.pidbox", "", m => firstInbox.Writer.WriteAsync(Text(m)).AsTask());
        await using var b = await second.SubscribeAsync("celery.pidbox", "", m => secondInbox.Writer.WriteAsync(Text(m)).AsTask());

        await first.BroadcastAsync("celery.pidbox", "", Encoding.UTF8.GetBytes("from first"));
        await second.BroadcastAsync("celery.pidbox", "", Encoding.UTF8.GetBytes("from second"));

        Assert.Equal(["from first", "from second"], await TakeAsync(firstInbox, 2));
        Assert.Equal(["from first", "from second"], await TakeAsync(secondInbox, 2));
    }

    [Fact]
    public async Task Broadcasts_older_than_a_minute_are_trimmed_by_a_later_publish()
    {
        var path = folder.NewFilePath("fennel.db");
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var transport = new SqliteTransport(new SqliteOptions { Path = path }, clock);
        await transport.BroadcastAsync("celeryev", "worker.online", Encoding.UTF8.GetBytes("old 1"));
        clock.Advance(TimeSpan.FromSeconds(2));
        await transport.BroadcastAsync("celeryev", "worker.heartbeat", Encoding.UTF8.GetBytes("old 2"));
        clock.Advance(TimeSpan.FromSeconds(30));
        await transport.BroadcastAsync("celeryev", "worker.heartbeat", Encoding.UTF8.GetBytes("young"));
        Assert.Equal(3L, await CountAsync(path));

        clock.Advance(TimeSpan.FromSeconds(31)); // "old 1" and "old 2" are over a minute old, "young" is not.
        await transport.BroadcastAsync("celeryev", "worker.heartbeat", Encoding.UTF8.GetBytes("new"));

        Assert.Equal(["young", "new"], await BodiesAsync(path));
    }

    [Fact]
    public async Task A_subscriber_after_a_trim_that_emptied_the_table_still_gets_only_new_broadcasts()
    {
        var path = folder.NewFilePath("fennel.db");
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var transport = new SqliteTransport(new SqliteOptions { Path = path }, clock);
        await transport.BroadcastAsync("celeryev", "worker.online", Encoding.UTF8.GetBytes("old"));
        clock.Advance(TimeSpan.FromMinutes(2));
        await transport.BroadcastAsync("celeryev", "worker.online", Encoding.UTF8.GetBytes("last before"));
        var inbox = Channel.CreateUnbounded<string>();
        await using var subscription = await transport.SubscribeAsync("celeryev", "#", m => inbox.Writer.WriteAsync(Text(m)).AsTask());

        await transport.BroadcastAsync("celeryev", "worker.heartbeat", Encoding.UTF8.GetBytes("after"));

        Assert.Equal(["after"], await TakeAsync(inbox, 1));
    }

    [Fact]
    public async Task Disposing_the_transport_ends_its_subscriptions()
    {
        var path = folder.NewFilePath("fennel.db");
        var subscriber = new SqliteTransport(new SqliteOptions { Path = path });
        await using var publisher = new SqliteTransport(new SqliteOptions { Path = path });
        await using var witness = new SqliteTransport(new SqliteOptions { Path = path });
        var calls = 0;
        await subscriber.SubscribeAsync("celeryev", "#", _ => { Interlocked.Increment(ref calls); return Task.CompletedTask; });
        var inbox = Channel.CreateUnbounded<string>();
        await using var witnessing = await witness.SubscribeAsync("celeryev", "#", m => inbox.Writer.WriteAsync(Text(m)).AsTask());

        await subscriber.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        await publisher.BroadcastAsync("celeryev", "worker.heartbeat", Encoding.UTF8.GetBytes("nobody listens"));
        // Another process's subscriber polls the same table: once it has the broadcast, the disposed one would have too.
        Assert.Equal(["nobody listens"], await TakeAsync(inbox, 1));

        Assert.Equal(0, Volatile.Read(ref calls));
    }

    private static string Text(BroadcastMessage message) => Encoding.UTF8.GetString(message.Body.Span);

    private static async Task<List<string>> TakeAsync(Channel<string> inbox, int count)
    {
        using var timeout = new CancellationTokenSource(Arrival);
        var taken = new List<string>();
        while (taken.Count < count) taken.Add(await inbox.Reader.ReadAsync(timeout.Token));
        return taken;
    }

    private static async Task<long> CountAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM broadcasts";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<string>> BodiesAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM broadcasts ORDER BY id";
        var bodies = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) bodies.Add(Encoding.UTF8.GetString((byte[])reader.GetValue(0)));
        return bodies;
    }
}
