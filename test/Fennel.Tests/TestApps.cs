using Fennel.Configuration;

namespace Fennel.Tests;

/// <summary>Apps on a private in-memory broker, for tests that need no server.</summary>
internal static class TestApps
{
    public static FennelApp Create(Action<FennelAppBuilder>? configure = null, Action<FennelOptions>? options = null)
    {
        var builder = FennelApp.CreateBuilder(["--loglevel", "warning"]);
        builder.Configure(o =>
        {
            o.BrokerUrl = "memory://" + Guid.NewGuid().ToString("N");
            o.Worker.Concurrency = 4;
            o.Worker.ShutdownTimeout = TimeSpan.FromSeconds(10);
            o.Worker.Mingle = false; // a second per worker start otherwise; the mingle tests turn it on

            options?.Invoke(o);
        });
        configure?.Invoke(builder);
        return builder.Build();
    }
}
