using System.Net;
using System.Net.Sockets;

namespace Fennel.Bench.Brokers;

/// <summary>Free TCP ports on 127.0.0.1 for the run's private servers.</summary>
internal static class LoopbackPort
{
    /// <summary>A port nobody listens on now (the kernel's choice; it stays free unless another process races for it).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
