using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Fennel.Dashboard.Metrics;
using Fennel.Events;
using Fennel.Monitoring;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fennel.Dashboard.Tests.Metrics;

/// <summary>GET {prefix}/metrics: Prometheus' text format, counts from real tasks, and its three kinds of access.</summary>
public sealed partial class MetricsTests
{
    private const string Token = "0123456789abcdef-metrics";

    // Prometheus text format 0.0.4: comments, or name{label="value",...} number.
    [GeneratedRegex("""^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^"\\\n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^"\\\n])*")*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$")]
    private static partial Regex CommentLine();

    /// <summary>Every line parses; each family has one HELP and one TYPE before its samples; returns samples by their series.</summary>
    private static Dictionary<string, double> Parse(string text)
    {
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        var typed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text[..^1].Split('\n'))
        {
            if (line.StartsWith('#'))
            {
                Assert.Matches(CommentLine(), line);
                if (line.StartsWith("# TYPE ", StringComparison.Ordinal)) Assert.True(typed.Add(line.Split(' ')[2]), $"one TYPE per family: {line}");
                continue;
            }
            Assert.Matches(SampleLine(), line);
            var space = line.LastIndexOf(' ');
            var series = line[..space];
            var family = Regex.Replace(series.Split('{')[0], "_(bucket|sum|count)$", "");
            Assert.True(typed.Contains(family) || typed.Contains(series.Split('{')[0]), $"TYPE before the samples of {series}");
            var value = line[(space + 1)..] switch { "+Inf" => double.PositiveInfinity, "-Inf" => double.NegativeInfinity, var v => double.Parse(v, CultureInfo.InvariantCulture) };
            Assert.True(samples.TryAdd(series, value), $"one sample per series: {series}");
        }
        return samples;
    }

    [Fact]
    public void Label_values_and_help_are_escaped_and_numbers_spelled_as_the_format_says()
    {
        var text = new PrometheusText();
        text.Family("x_total", "counter", "Help with a \\ and a\nline break.");
        text.Sample("x_total", 1.5, ("name", "a\"b\\c\nd"), ("state", "SUCCESS"));
        text.Sample("x_total", double.PositiveInfinity, ("name", "<script>ünïcode</script>"));
        text.Family("y", "gauge", "Plain.");
        text.Sample("y", 3);
        var output = text.ToString();
        Assert.Equal("""
            # HELP x_total Help with a \\ and a\nline break.
            # TYPE x_total counter
            x_total{name="a\"b\\c\nd",state="SUCCESS"} 1.5
            x_total{name="<script>ünïcode</script>"} +Inf
            # HELP y Plain.
            # TYPE y gauge
            y 3

            """.ReplaceLineEndings("\n"), output);
        var samples = Parse(output);
        Assert.Equal(3, samples.Count);
    }

    [Fact]
    public void Task_names_beyond_the_bound_count_as_other_and_names_come_from_the_cluster_state()
    {
        var state = new ClusterState();
        var metrics = new TaskMetrics(2, NullLogger.Instance);
        foreach (var (id, name) in new[] { ("1", "a"), ("2", "b"), ("3", "c"), ("4", "d") })
        {
            var received = new TaskReceivedEvent { Hostname = "w", Timestamp = 1, TaskId = id, Name = name };
            state.Apply(received);
            metrics.Apply(received, state);
            var succeeded = new TaskSucceededEvent { Hostname = "w", Timestamp = 2, TaskId = id, Runtime = 0.2 };
            state.Apply(succeeded);
            metrics.Apply(succeeded, state);
        }
        metrics.Apply(new TaskFailedEvent { Hostname = "w", Timestamp = 3, TaskId = "never-seen" }, state);
        var series = metrics.Read().ToDictionary(s => s.Name);
        Assert.Equal(["_other", "a", "b"], series.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, series["_other"].Counts[2]); // SUCCESS of c and d
        Assert.Equal(1, series["a"].Counts[0]); // RECEIVED
        Assert.Equal(1, series["a"].RuntimeCount);
        Assert.Equal(0.2, series["a"].RuntimeSum, 6);
        // Past the bound even an unknown name goes to _other.
        Assert.Equal(1, series["_other"].Counts[3]);
    }

    [Fact]
    public async Task Tasks_run_by_a_worker_are_counted_by_name_and_state_with_runtimes_workers_and_queue_depth()
    {
        await using var app = TestApps.Create();
        var add = app.Task<int, int, int>("tasks.add", (int x, int y) => x + y);
        var fail = app.Task<int, int>("tasks.fail", int (int x) => throw new InvalidOperationException("no"));
        await using var host = await DashboardHost.StartAsync(app, o => o.Users.Add(FennelDashboardUser.Parse("admin:right")));
        using var admin = host.Client("admin", "right");
        await using var worker = app.CreateWorker(o =>
        {
            o.NodeName = "a@metrics";
            o.TaskEvents = true;
        });
        await worker.StartAsync();
        Assert.Equal(3, await (await add.DelayAsync(1, 2)).GetAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(7, await (await add.DelayAsync(3, 4)).GetAsync(TimeSpan.FromSeconds(20)));
        var failed = await fail.DelayAsync(1);
        await Assert.ThrowsAnyAsync<Exception>(() => failed.GetAsync(TimeSpan.FromSeconds(20)));

        Dictionary<string, double> samples = [];
        await Eventually.HoldsAsync(async () =>
        {
            using var response = await admin.GetAsync("metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
            samples = Parse(await response.Content.ReadAsStringAsync());
            return samples.GetValueOrDefault("""fennel_tasks_total{name="tasks.add",state="SUCCESS"}""") == 2
                && samples.GetValueOrDefault("""fennel_tasks_total{name="tasks.fail",state="FAILURE"}""") == 1;
        }, "the tasks counted");
        Assert.Equal(2, samples["""fennel_tasks_total{name="tasks.add",state="RECEIVED"}"""]);
        Assert.Equal(2, samples["""fennel_tasks_total{name="tasks.add",state="STARTED"}"""]);
        Assert.Equal(2, samples["""fennel_task_runtime_seconds_count{name="tasks.add"}"""]);
        Assert.Equal(2, samples["""fennel_task_runtime_seconds_bucket{name="tasks.add",le="+Inf"}"""]);
        Assert.Equal(2, samples["""fennel_task_runtime_seconds_bucket{name="tasks.add",le="3600"}"""]);
        Assert.True(samples["""fennel_task_runtime_seconds_sum{name="tasks.add"}"""] >= 0);
        Assert.Equal(1, samples["fennel_workers_online"]);
        Assert.Equal(1, samples["""fennel_worker_up{worker="a@metrics"}"""]);
        Assert.Equal(0, samples["""fennel_queue_depth{queue="celery"}"""]);

        await worker.StopAsync();
        await Eventually.HoldsAsync(async () => Parse(await admin.GetStringAsync("metrics")).GetValueOrDefault("""fennel_worker_up{worker="a@metrics"}""", -1) == 0, "a@metrics down");
    }

    [Fact]
    public async Task By_default_the_metrics_need_a_dashboard_user()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, o => o.Users.Add(FennelDashboardUser.Parse("admin:right")));
        using var anonymous = await host.Client().GetAsync("metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Basic", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client("admin", "wrong").GetAsync("metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client("admin", "right").GetAsync("metrics")).StatusCode);
    }

    [Fact]
    public async Task With_a_bearer_token_only_that_token_reads_the_metrics_and_the_rest_still_needs_a_user()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, o =>
        {
            o.Users.Add(FennelDashboardUser.Parse("admin:right"));
            o.Metrics.Access = FennelMetricsAccess.BearerToken;
            o.Metrics.BearerToken = Token;
        });
        async Task<HttpResponseMessage> GetAsync(string path, AuthenticationHeaderValue? authorization)
        {
            using var client = host.Client();
            client.DefaultRequestHeaders.Authorization = authorization;
            return await client.GetAsync(path);
        }
        var none = await GetAsync("metrics", null);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("metrics", new("Bearer", Token + "x"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("metrics", new("Bearer", Token[..^1]))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("metrics", new("Basic", Convert.ToBase64String("admin:right"u8.ToArray())))).StatusCode);
        var ok = await GetAsync("metrics", new("Bearer", Token));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Contains("fennel_workers_online 0", await ok.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("api/workers", new("Bearer", Token))).StatusCode);
        Assert.Contains(host.Log.Records, r => r.EventId == 8040);
    }

    [Fact]
    public async Task Public_metrics_need_no_credentials_say_so_at_start_and_leave_the_rest_behind_sign_in()
    {
        await using var app = TestApps.Create();
        await using var host = await DashboardHost.StartAsync(app, o =>
        {
            o.Users.Add(FennelDashboardUser.Parse("admin:right"));
            o.Metrics.Access = FennelMetricsAccess.Public;
        });
        using var anonymous = host.Client();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("api/workers")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("api/live", HttpCompletionOption.ResponseHeadersRead)).StatusCode);
        Assert.Contains(host.Log.Records, r => r.EventId == 8037 && r.Message.Contains("/fennel/metrics", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(FennelMetricsAccess.BearerToken, null)]
    [InlineData(FennelMetricsAccess.BearerToken, "short")]
    [InlineData(FennelMetricsAccess.Dashboard, Token)]
    public void A_bearer_token_is_required_long_enough_and_only_with_bearer_access(FennelMetricsAccess access, string? token)
    {
        var options = new FennelDashboardOptions();
        options.Metrics.Access = access;
        options.Metrics.BearerToken = token;
        Assert.Throws<FennelConfigurationException>(options.Validate);
    }
}
