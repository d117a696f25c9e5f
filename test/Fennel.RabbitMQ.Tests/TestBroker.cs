using Fennel.Testing.Servers;

namespace Fennel.RabbitMQ.Tests;

/// <summary>The shared test server's vhost for this project.</summary>
internal static class TestBroker
{
    public const string VirtualHost = "fennel-tests";

    public static string Url(string query = "") => RabbitMQTestServer.Url(VirtualHost) + query;

    public static RabbitMQOptions Options(string query = "") => RabbitMQOptions.Parse(Url(query));

    public static RabbitMQTransport NewTransport(string query = "") => new(Options(query));
}
