namespace Fennel.RabbitMQ.Tests;

/// <summary>The shared test server's vhost for this project.</summary>
internal static class TestBroker
{
    public const string VirtualHost = "fennel-tests";

    public static string Url(string query = "") =>
        (Environment.GetEnvironmentVariable("FENNEL_TEST_AMQP") ?? throw new InvalidOperationException("FENNEL_TEST_AMQP is not set: run 'bash scripts/test.sh'."))
        .TrimEnd('/') + "/" + VirtualHost + query;

    public static RabbitMQOptions Options(string query = "") => RabbitMQOptions.Parse(Url(query));

    public static RabbitMQTransport NewTransport(string query = "") => new(Options(query));
}
