using RabbitMQ.Client;

namespace Fennel.RabbitMQ.Tests;

/// <summary>A plain RabbitMQ.Client connection to the test vhost, to look at what Fennel put on the wire.</summary>
internal sealed class RawBroker : IAsyncDisposable
{
    private RawBroker(IConnection connection, IChannel channel)
    {
        Connection = connection;
        Channel = channel;
    }

    public IConnection Connection { get; }

    public IChannel Channel { get; }

    public static async Task<RawBroker> OpenAsync()
    {
        var options = TestBroker.Options();
        var factory = new ConnectionFactory
        {
            HostName = options.Host, Port = options.Port, VirtualHost = options.VirtualHost, UserName = options.User, Password = options.Password,
        };
        var connection = await factory.CreateConnectionAsync();
        return new RawBroker(connection, await connection.CreateChannelAsync());
    }

    /// <summary>Takes one message, waiting for it to arrive.</summary>
    public async Task<BasicGetResult> GetAsync(string queue)
    {
        BasicGetResult? result = null;
        await Eventually.HoldsAsync(async () => (result = await Channel.BasicGetAsync(queue, autoAck: true)) is not null, $"a message on {queue}");
        return result!;
    }

    public async ValueTask DisposeAsync()
    {
        await Channel.CloseAsync();
        await Connection.CloseAsync();
        Connection.Dispose();
    }
}
