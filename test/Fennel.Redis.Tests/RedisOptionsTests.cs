namespace Fennel.Redis.Tests;

public sealed class RedisOptionsTests
{
    [Theory]
    [InlineData("redis://localhost", "localhost", 6379, 0, null, null, false)]
    [InlineData("redis://127.0.0.1:6390/3", "127.0.0.1", 6390, 3, null, null, false)]
    [InlineData("redis://:s%40cret@cache:6380/2", "cache", 6380, 2, null, "s@cret", false)]
    [InlineData("redis://app:pw@cache/1", "cache", 6379, 1, "app", "pw", false)]
    [InlineData("rediss://:pw@secure.example.com:6380/0", "secure.example.com", 6380, 0, null, "pw", true)]
    public void Reads_urls_as_celery_does(string url, string host, int port, int database, string? user, string? password, bool tls)
    {
        var options = RedisOptions.Parse(url);

        Assert.Equal((host, port, database, user, password, tls), (options.Host, options.Port, options.Database, options.User, options.Password, options.UseTls));
        Assert.Equal(TimeSpan.FromHours(1), options.VisibilityTimeout);
    }

    [Fact]
    public void Reads_query_options()
    {
        var options = RedisOptions.Parse("redis://localhost/0?visibility_timeout=43200&poll_interval_ms=20");

        Assert.Equal(TimeSpan.FromHours(12), options.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(20), options.PollInterval);
    }

    [Theory]
    [InlineData("amqp://localhost", "scheme")]
    [InlineData("redis://localhost/db", "not a database number")]
    [InlineData("redis://localhost/0?visibility=1", "unknown option 'visibility'")]
    [InlineData("redis://localhost/0?visibility_timeout=-5", "not a positive number")]
    public void Refuses_bad_urls_clearly_without_leaking_the_password(string url, string why)
    {
        var error = Assert.Throws<FennelConfigurationException>(() => RedisOptions.Parse(url.Replace("localhost", ":hunter2@localhost", StringComparison.Ordinal)));

        Assert.Contains(why, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tls_url_turns_on_tls_with_the_host_name()
    {
        var configuration = RedisOptions.Parse("rediss://secure.example.com:6380").ToConfiguration();

        Assert.True(configuration.Ssl);
        Assert.Equal("secure.example.com", configuration.SslHost);
        Assert.False(configuration.AbortOnConnectFail);
    }
}
