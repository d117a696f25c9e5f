using System.Text;
using Fennel.Transport;
using Xunit;

namespace Fennel.Testing;

/// <summary>
/// The behaviour every <see cref="ITransport"/> shares. A transport's test project subclasses this and supplies a fresh
/// broker; every test also uses queues of its own, so a broker shared by several tests works too.
/// </summary>
/// <remarks>
/// Tests wait for conditions with generous deadlines and never assert latency. Leases are short (300 ms) where a test
/// needs one to lapse, and long (a minute) where it must not.
/// </remarks>
public abstract partial class TransportConformanceTests : IAsyncLifetime
{
    /// <summary>A lease that lapses within the test.</summary>
    protected static readonly TimeSpan ShortLease = TimeSpan.FromMilliseconds(300);

    /// <summary>A lease that does not lapse within the test.</summary>
    protected static readonly TimeSpan LongLease = TimeSpan.FromMinutes(1);

    /// <summary>How long a fetch may wait for a message that should arrive: generous, since machines under load are slow.</summary>
    protected static readonly TimeSpan ArrivalWait = TimeSpan.FromSeconds(15);

    private ITransport? _transport;

    /// <summary>The broker under test.</summary>
    protected ITransport Transport => _transport ?? throw new InvalidOperationException("The transport is created in InitializeAsync.");

    /// <summary>Creates a fresh broker for one test.</summary>
    protected abstract Task<ITransport> CreateTransportAsync();

    /// <inheritdoc />
    public virtual async Task InitializeAsync() => _transport = await CreateTransportAsync();

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        if (_transport is not null) await _transport.DisposeAsync();
    }

    /// <summary>A queue name no other test uses.</summary>
    protected static string NewQueue() => $"conformance-{Guid.NewGuid():N}";

    /// <summary>A message whose body is <paramref name="text"/>.</summary>
    protected static MessageEnvelope Body(string text) => TextMessages.Envelope(text);

    /// <summary>The text a message stored in kombu's JSON form (a dead letter) carries.</summary>
    protected static string BodyText(ReadOnlyMemory<byte> stored) => TextMessages.TextOf(stored);

    /// <summary>The text a delivered message carries.</summary>
    protected static string Text(Delivery delivery) => TextMessages.TextOf(delivery);

    /// <summary>
    /// True where a lower priority number is served first (Redis, as kombu orders its priority lists); false where a
    /// higher one is (SQLite, AMQP).
    /// </summary>
    protected virtual bool LowerPriorityFirst => false;

    /// <summary>Publishes messages with the given bodies, one call each, in order.</summary>
    protected async Task PublishAsync(string queue, params string[] bodies)
    {
        foreach (var body in bodies) await Transport.PublishAsync(new OutgoingMessage(queue, Body(body)));
    }

    /// <summary>Fetches exactly one message, waiting up to <see cref="ArrivalWait"/>.</summary>
    protected async Task<Delivery> FetchOneAsync(string queue, TimeSpan lease)
    {
        var fetched = await Transport.FetchAsync([queue], 1, lease, ArrivalWait);
        return Assert.Single(fetched);
    }

    /// <summary>Fetches without waiting: what is ready now.</summary>
    protected Task<IReadOnlyList<Delivery>> FetchNowAsync(string queue, int maxMessages = 100) =>
        Transport.FetchAsync([queue], maxMessages, LongLease, TimeSpan.Zero);
}
