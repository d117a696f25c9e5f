using Fennel.Transport;
using Xunit;

namespace Fennel.Testing;

/// <summary>
/// The behaviour every <see cref="IRevokeStore"/> shares. A transport's test project subclasses this; every call to
/// <see cref="CreateStoreAsync"/> must return a store on the same broker (a second client, as a restarted worker is).
/// Tests use task ids of their own, so a broker shared with other tests works too.
/// </summary>
public abstract class RevokeStoreConformanceTests : IAsyncLifetime
{
    private readonly List<ITransport> _transports = [];

    /// <summary>Creates a store (a transport that implements <see cref="IRevokeStore"/>) on the broker under test.</summary>
    protected abstract Task<ITransport> CreateStoreAsync();

    /// <summary>The store under test.</summary>
    protected IRevokeStore Store { get; private set; } = null!;

    /// <inheritdoc />
    public virtual async Task InitializeAsync() => Store = await NewStoreAsync();

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        foreach (var transport in _transports) await transport.DisposeAsync();
    }

    /// <summary>Another client of the same broker.</summary>
    protected async Task<IRevokeStore> NewStoreAsync()
    {
        var transport = await CreateStoreAsync();
        _transports.Add(transport);
        return Assert.IsAssignableFrom<IRevokeStore>(transport);
    }

    /// <summary>Ids no other test uses, with a common prefix to find them.</summary>
    protected static string[] NewIds(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => $"{prefix}-{i:D4}")];

    /// <summary>A prefix no other test uses.</summary>
    protected static string NewPrefix() => Guid.NewGuid().ToString("N");

    /// <summary>Revokes made now that expire in an hour (times to the millisecond, as stores keep them).</summary>
    protected static Revocation[] Live(IEnumerable<string> ids, bool terminate = false)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return [.. ids.Select(id => new Revocation(id, terminate, now, now.AddHours(1)))];
    }

    /// <summary>Reads from <paramref name="cursor"/> until caught up; returns what was read and the final cursor.</summary>
    protected static async Task<(List<Revocation> Read, string? Cursor)> ReadToEndAsync(IRevokeStore store, string? cursor, int limit = 1000)
    {
        var read = new List<Revocation>();
        for (var pages = 0; pages < 100_000; pages++)
        {
            var page = await store.ReadRevokesAsync(cursor, limit);
            Assert.True(page.Revocations.Count <= limit, $"a page held {page.Revocations.Count} revokes, more than the limit {limit}");
            read.AddRange(page.Revocations);
            if (page.Cursor == cursor) return (read, cursor);
            cursor = page.Cursor;
        }
        throw new InvalidOperationException("The store never caught up.");
    }

    /// <summary>
    /// Reads on from <paramref name="cursor"/> until <paramref name="count"/> revokes of <paramref name="prefix"/> arrived
    /// (a reader polls: a store may show another client's revoke a moment after it was written) or a generous deadline.
    /// </summary>
    protected static async Task<(List<Revocation> Read, string? Cursor)> ReadUntilAsync(IRevokeStore store, string? cursor, string prefix, int count)
    {
        var read = new List<Revocation>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var (more, next) = await ReadToEndAsync(store, cursor);
            read.AddRange(more);
            cursor = next;
            if (Mine(read, prefix).Count >= count || DateTime.UtcNow > deadline) return (read, cursor);
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }

    private static List<Revocation> Mine(IEnumerable<Revocation> read, string prefix) =>
        [.. read.Where(r => r.TaskId.StartsWith(prefix, StringComparison.Ordinal))];

    [Fact]
    public async Task Revokes_are_read_back_in_order_with_their_terminate_flag_and_times()
    {
        var prefix = NewPrefix();
        var added = Live(NewIds(prefix, 3)).Select((r, i) => r with { Terminate = i == 1 }).ToArray();
        await Store.AddRevokesAsync(added);

        var (read, _) = await ReadToEndAsync(Store, null);

        Assert.Equal(added, Mine(read, prefix));
    }

    [Fact]
    public async Task A_new_client_reads_revokes_made_before_it_existed()
    {
        var prefix = NewPrefix();
        await Store.AddRevokesAsync(Live(NewIds(prefix, 2)));

        var (read, _) = await ReadToEndAsync(await NewStoreAsync(), null);

        Assert.Equal(NewIds(prefix, 2), Mine(read, prefix).Select(r => r.TaskId));
    }

    [Fact]
    public async Task A_reader_at_its_cursor_gets_only_newer_revokes()
    {
        var prefix = NewPrefix();
        await Store.AddRevokesAsync(Live([prefix + "-old"]));
        var (_, cursor) = await ReadToEndAsync(Store, null);

        await (await NewStoreAsync()).AddRevokesAsync(Live([prefix + "-new-1", prefix + "-new-2"], terminate: true));
        var (read, next) = await ReadUntilAsync(Store, cursor, prefix, 2);

        Assert.Equal([prefix + "-new-1", prefix + "-new-2"], Mine(read, prefix).Select(r => r.TaskId));
        Assert.All(Mine(read, prefix), r => Assert.True(r.Terminate));
        Assert.NotEqual(cursor, next);
    }

    [Fact]
    public async Task A_caught_up_reader_gets_its_cursor_back_and_nothing_else()
    {
        await Store.AddRevokesAsync(Live([NewPrefix()]));
        var (_, cursor) = await ReadToEndAsync(Store, null);

        var page = await Store.ReadRevokesAsync(cursor, 10);

        Assert.Empty(page.Revocations);
        Assert.Equal(cursor, page.Cursor);
    }

    [Fact]
    public async Task Reads_are_paged_by_the_limit_without_losing_or_repeating_a_revoke()
    {
        var prefix = NewPrefix();
        var ids = NewIds(prefix, 25);
        await Store.AddRevokesAsync(Live(ids));

        var (read, _) = await ReadToEndAsync(Store, null, limit: 7);

        Assert.Equal(ids, Mine(read, prefix).Select(r => r.TaskId));
    }

    [Fact]
    public async Task Expired_revokes_are_never_returned()
    {
        var prefix = NewPrefix();
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await Store.AddRevokesAsync(
        [
            new Revocation(prefix + "-expired", false, now.AddHours(-4), now.AddHours(-1)),
            new Revocation(prefix + "-soon", false, now, now.AddMilliseconds(300)),
            new Revocation(prefix + "-live", true, now, now.AddHours(1)),
        ]);
        await Task.Delay(TimeSpan.FromMilliseconds(600)); // past "soon": a lower bound, not a speed assertion

        var (read, _) = await ReadToEndAsync(Store, null);
        // A later write trims what expired; the live one stays.
        await Store.AddRevokesAsync(Live([prefix + "-later"]));
        var (again, _) = await ReadToEndAsync(await NewStoreAsync(), null);

        Assert.Equal([prefix + "-live"], Mine(read, prefix).Select(r => r.TaskId));
        Assert.Equal([prefix + "-live", prefix + "-later"], Mine(again, prefix).Select(r => r.TaskId));
    }

    [Fact]
    public async Task Revoking_a_task_twice_keeps_both_records_and_a_set_of_readers_sees_one_id()
    {
        var prefix = NewPrefix();
        await Store.AddRevokesAsync(Live([prefix]));
        await Store.AddRevokesAsync(Live([prefix], terminate: true));

        var (read, _) = await ReadToEndAsync(Store, null);

        Assert.Equal([false, true], Mine(read, prefix).Select(r => r.Terminate));
    }

    [Fact]
    public async Task A_cursor_from_the_middle_of_a_page_resumes_after_it()
    {
        var prefix = NewPrefix();
        var (_, start) = await ReadToEndAsync(Store, null);
        await Store.AddRevokesAsync(Live(NewIds(prefix, 5)));

        await ReadUntilAsync(Store, start, prefix, 5); // every store has all five now
        var first = await Store.ReadRevokesAsync(start, 2);
        var (rest, _) = await ReadToEndAsync(Store, first.Cursor);

        Assert.Equal(2, first.Revocations.Count);
        Assert.Equal(NewIds(prefix, 5), Mine(first.Revocations.Concat(rest), prefix).Select(r => r.TaskId));
    }
}
