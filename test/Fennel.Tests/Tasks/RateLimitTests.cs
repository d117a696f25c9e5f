using Fennel.Tasks;

namespace Fennel.Tests.Tasks;

public class RateLimitTests
{
    [Theory]
    [InlineData("100/s", 100.0, 10_000)]
    [InlineData("10/m", 10 / 60.0, 6_000_000)]
    [InlineData("500/h", 500 / 3600.0, 7_200_000)]
    [InlineData("5", 5.0, 200_000)]
    [InlineData(" 2/s ", 2.0, 500_000)]
    [InlineData("0.5/s", 0.5, 2_000_000)]
    [InlineData("10/", 10.0, 100_000)]
    public void Celery_rates_parse_to_a_rate_and_an_interval(string text, double perSecond, long intervalMicroseconds)
    {
        var rate = RateLimit.Parse(text);
        Assert.NotNull(rate);
        Assert.Equal(perSecond, rate.PerSecond, 9);
        Assert.Equal(intervalMicroseconds, rate.Interval.Ticks / 10);
        Assert.Equal(text.Trim(), rate.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("0")]
    [InlineData("0/m")]
    public void No_text_or_a_zero_rate_means_no_limit(string? text) => Assert.Null(RateLimit.Parse(text));

    [Theory]
    [InlineData("10/d", "unit 'd'")]
    [InlineData("10/sec", "unit 'sec'")]
    [InlineData("fast", "does not start with a number")]
    [InlineData("-1/s", "does not start with a number")]
    [InlineData("1e3/s", "does not start with a number")]
    [InlineData("/s", "does not start with a number")]
    [InlineData("2000000/s", "above a million")]
    public void Bad_rates_are_refused_with_what_is_expected(string text, string says)
    {
        var ex = Assert.Throws<FormatException>(() => RateLimit.Parse(text));
        Assert.Contains(says, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{text}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_rate_fails_registration_naming_the_task()
    {
        await using var app = TestApps.Create();
        var ex = Assert.Throws<FennelConfigurationException>(() =>
            app.Task<int, int>("tasks.limited", (int n) => n, new TaskOptions { RateLimit = "10/minute" }));
        Assert.Contains("Task 'tasks.limited'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'10/minute'", ex.Message, StringComparison.Ordinal);
        Assert.False(app.Tasks.TryGet("tasks.limited", out _));
    }

    [Fact]
    public async Task A_good_rate_is_parsed_once_at_registration()
    {
        await using var app = TestApps.Create();
        app.Task<int, int>("tasks.limited", (int n) => n, new TaskOptions { RateLimit = "10/m" });
        Assert.True(app.Tasks.TryGet("tasks.limited", out var task));
        Assert.Equal(TimeSpan.FromSeconds(6), task.RateLimit!.Interval);
    }
}
