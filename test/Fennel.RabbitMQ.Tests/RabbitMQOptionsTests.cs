namespace Fennel.RabbitMQ.Tests;

public sealed class RabbitMQOptionsTests
{
    [Theory]
    [InlineData("amqp://guest:guest@localhost:5672//", "localhost", 5672, "/")]
    [InlineData("amqp://localhost", "localhost", 5672, "/")]
    [InlineData("amqp://u:p@rabbit.internal/", "rabbit.internal", 5672, "/")]
    [InlineData("amqp://u:p@rabbit:5673/prod", "rabbit", 5673, "prod")]
    [InlineData("amqp://u:p@rabbit/%2Fprod", "rabbit", 5672, "/prod")]
    [InlineData("amqps://u:p@rabbit/prod", "rabbit", 5671, "prod")]
    public void Reads_host_port_and_vhost_as_kombu_does(string url, string host, int port, string vhost)
    {
        var options = RabbitMQOptions.Parse(url);

        Assert.Equal(host, options.Host);
        Assert.Equal(port, options.Port);
        Assert.Equal(vhost, options.VirtualHost);
        Assert.Equal(url.StartsWith("amqps", StringComparison.Ordinal), options.UseTls);
    }

    [Fact]
    public void Reads_credentials_percent_decoded_and_defaults_to_guest()
    {
        var options = RabbitMQOptions.Parse("amqp://svc%40app:p%3Ass@rabbit/");
        Assert.Equal("svc@app", options.User);
        Assert.Equal("p:ss", options.Password);

        var defaults = RabbitMQOptions.Parse("amqp://rabbit/");
        Assert.Equal(("guest", "guest"), (defaults.User, defaults.Password));
    }

    [Fact]
    public void Reads_query_options()
    {
        var options = RabbitMQOptions.Parse("amqp://rabbit/?heartbeat=10&max_priority=10&consumer_timeout=3600&confirm_timeout=5");

        Assert.Equal(TimeSpan.FromSeconds(10), options.Heartbeat);
        Assert.Equal(10, options.MaxPriority);
        Assert.Equal(TimeSpan.FromHours(1), options.ConsumerTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.ConfirmTimeout);
    }

    [Theory]
    [InlineData("redis://localhost", "scheme")]
    [InlineData("amqp:///vhost", "cannot be used")]
    [InlineData("amqp://rabbit/?max_priority=300", "max_priority=300")]
    [InlineData("amqp://rabbit/?prefetch=4", "unknown option 'prefetch'")]
    public void Refuses_bad_urls_without_echoing_the_password(string url, string why)
    {
        var error = Assert.Throws<FennelConfigurationException>(() => RabbitMQOptions.Parse(url.Replace("amqp://", "amqp://u:secret@", StringComparison.Ordinal)));

        Assert.Contains(why, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Display_hides_the_password()
    {
        Assert.Equal("amqp://u@rabbit:5672/prod", RabbitMQOptions.Parse("amqp://u:secret@rabbit/prod").Display);
    }
}
