using Fennel.Dashboard.History;
using Fennel.Events;
using Microsoft.Extensions.Time.Testing;
using static Fennel.Dashboard.Tests.History.Events;

namespace Fennel.Dashboard.Tests.History;

/// <summary>Filters, sorts, search and paging over one fixed history, shared by the class.</summary>
public sealed class TaskHistoryQueryTests : IClassFixture<TaskHistoryQueryTests.History>
{
    private readonly TaskHistoryStore _store;

    public TaskHistoryQueryTests(History history) => _store = history.Store!;

    /// <summary>
    /// a: add, w1, celery, SUCCESS, runtime 3, args (1, 2)        at T0
    /// b: mul, w2, math,   SUCCESS, runtime 1, result 'needle%x'  at T0+10s
    /// c: add, w2, celery, FAILURE, KeyError('needle')            at T0+20s
    /// d: mul, w1, math,   STARTED                                at T0+30s
    /// e: add, (none), celery, PENDING, kwargs {'q': 'needle'}    at T0+40s
    /// </summary>
    public sealed class History : IAsyncLifetime
    {
        private readonly TemporaryFolder _folder = new();

        public TaskHistoryStore? Store { get; private set; }

        public async Task InitializeAsync()
        {
            Store = await TaskHistoryStore.OpenAsync(new TaskHistoryOptions { Path = _folder.NewFilePath("history.db") }, new FakeTimeProvider(T0));
            await Store.AppendAsync([
                .. Lifecycle("a", T0, "tasks.add", "w1@host", "celery", runtime: 3, args: "(1, 2)"),
                .. Lifecycle("b", T0.AddSeconds(10), "tasks.mul", "w2@host", "math", runtime: 1, result: "'needle%x'"),
                Sent("c", T0.AddSeconds(20), "tasks.add", "celery"), Received("c", T0.AddSeconds(21), "w2@host"), Started("c", T0.AddSeconds(22), "w2@host"),
                Failed("c", T0.AddSeconds(23), "w2@host", "KeyError('needle')"),
                Sent("d", T0.AddSeconds(30), "tasks.mul", "math"), Received("d", T0.AddSeconds(31), "w1@host", "tasks.mul"), Started("d", T0.AddSeconds(32), "w1@host"),
                Sent("e", T0.AddSeconds(40), "tasks.add", "celery", kwargs: "{'q': 'needle'}"),
            ]);
            await Store.FlushAsync();
        }

        public async Task DisposeAsync()
        {
            if (Store is not null) await Store.DisposeAsync();
            _folder.Dispose();
        }
    }

    private async Task<string[]> IdsAsync(TaskQuery query) => [.. (await _store.QueryTasksAsync(query)).Tasks.Select(t => t.Id)];

    [Fact]
    public async Task The_default_is_newest_first_by_first_seen()
    {
        Assert.Equal(["e", "d", "c", "b", "a"], await IdsAsync(new TaskQuery()));
        Assert.Equal(["a", "b", "c", "d", "e"], await IdsAsync(new TaskQuery { Descending = false }));
    }

    [Theory]
    [InlineData(TaskSortField.Received, false, "a,b,c,d,e")]
    [InlineData(TaskSortField.Received, true, "d,c,b,a,e")]
    [InlineData(TaskSortField.Started, true, "d,c,b,a,e")]
    [InlineData(TaskSortField.Finished, false, "a,b,c,d,e")]
    [InlineData(TaskSortField.Finished, true, "c,b,a,e,d")]
    [InlineData(TaskSortField.Runtime, true, "a,b,e,d,c")]
    [InlineData(TaskSortField.Runtime, false, "b,a,c,d,e")]
    [InlineData(TaskSortField.Name, false, "a,c,e,b,d")]
    [InlineData(TaskSortField.Name, true, "d,b,e,c,a")]
    [InlineData(TaskSortField.State, false, "c,e,d,a,b")]
    [InlineData(TaskSortField.State, true, "b,a,d,e,c")]
    public async Task Every_sort_orders_with_missing_values_last_and_ties_by_id_the_same_way(TaskSortField sort, bool descending, string expected)
    {
        Assert.Equal(expected.Split(','), await IdsAsync(new TaskQuery { SortBy = sort, Descending = descending }));
    }

    [Fact]
    public async Task Filters_by_state_set()
    {
        Assert.Equal(["c", "b", "a"], await IdsAsync(new TaskQuery { States = ["SUCCESS", "FAILURE"] }));
        Assert.Equal(["e"], await IdsAsync(new TaskQuery { States = ["PENDING"] }));
        Assert.Empty(await IdsAsync(new TaskQuery { States = ["REVOKED"] }));
    }

    [Fact]
    public async Task Filters_by_name_worker_and_queue()
    {
        Assert.Equal(["d", "b"], await IdsAsync(new TaskQuery { Name = "tasks.mul" }));
        Assert.Equal(["d", "a"], await IdsAsync(new TaskQuery { Worker = "w1@host" }));
        Assert.Equal(["e", "c", "a"], await IdsAsync(new TaskQuery { Queue = "celery" }));
        Assert.Equal(["c"], await IdsAsync(new TaskQuery { Queue = "celery", Worker = "w2@host", Name = "tasks.add" }));
    }

    [Fact]
    public async Task Filters_by_time_range_from_inclusive_to_exclusive()
    {
        Assert.Equal(["c", "b"], await IdsAsync(new TaskQuery { From = T0.AddSeconds(10), To = T0.AddSeconds(30) }));
        Assert.Equal(["e", "d"], await IdsAsync(new TaskQuery { From = T0.AddSeconds(30) }));
        Assert.Equal(["a"], await IdsAsync(new TaskQuery { To = T0.AddSeconds(10) }));
    }

    [Fact]
    public async Task Search_looks_in_id_args_kwargs_result_and_exception()
    {
        Assert.Equal(["e", "c", "b"], await IdsAsync(new TaskQuery { Search = "needle" }));
        Assert.Equal(["e", "c", "b"], await IdsAsync(new TaskQuery { Search = "NEEDLE" }));
        Assert.Equal(["a"], await IdsAsync(new TaskQuery { Search = "(1, 2)" }));
        Assert.Equal(["d"], await IdsAsync(new TaskQuery { Search = "d", States = ["STARTED"] }));
        Assert.Equal(["c"], await IdsAsync(new TaskQuery { Search = "KeyError" }));
    }

    [Fact]
    public async Task Search_takes_wildcards_literally()
    {
        Assert.Equal(["b"], await IdsAsync(new TaskQuery { Search = "needle%x" }));
        Assert.Empty(await IdsAsync(new TaskQuery { Search = "ne_dle" }));
        Assert.Empty(await IdsAsync(new TaskQuery { Search = "%" + "KeyError('x" }));
    }

    [Fact]
    public async Task Pages_carry_the_total_of_all_matching_tasks()
    {
        var first = await _store.QueryTasksAsync(new TaskQuery { Limit = 2 });
        var second = await _store.QueryTasksAsync(new TaskQuery { Limit = 2, Offset = 2 });
        var last = await _store.QueryTasksAsync(new TaskQuery { Limit = 2, Offset = 4 });
        var beyond = await _store.QueryTasksAsync(new TaskQuery { Limit = 2, Offset = 10 });
        Assert.Equal([5L, 5, 5, 5], [first.Total, second.Total, last.Total, beyond.Total]);
        Assert.Equal(["e", "d", "c", "b", "a"], first.Tasks.Concat(second.Tasks).Concat(last.Tasks).Select(t => t.Id));
        Assert.Empty(beyond.Tasks);

        var filtered = await _store.QueryTasksAsync(new TaskQuery { Name = "tasks.add", Limit = 1 });
        Assert.Equal((3L, "e"), (filtered.Total, filtered.Tasks.Single().Id));
    }

    [Fact]
    public async Task A_page_size_out_of_range_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _store.QueryTasksAsync(new TaskQuery { Limit = 0 }));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.QueryTasksAsync(new TaskQuery { Limit = TaskHistoryStore.MaxPageSize + 1 }));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.QueryTasksAsync(new TaskQuery { Offset = -1 }));
    }
}
