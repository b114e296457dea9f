using System.Net;
using System.Net.Sockets;

namespace Lcluster.Rpc.Tests.Etcd;

/// <summary>
/// A real etcd for the client tests (TestSupport's: free ports, a temporary
/// data dir, killed and removed on dispose), with the address src/Rpc dials.
/// </summary>
public sealed class EtcdServer : IAsyncLifetime
{
    private TestSupport.EtcdServer? _server;

    /// <summary>host:port of etcd's client endpoint; still answers after dispose, for failure messages.</summary>
    public string Address { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _server = await TestSupport.EtcdServer.StartNewAsync();
        Address = $"{_server.Host}:{_server.ClientPort}";
    }

    /// <summary>Kills etcd (a second call does nothing).</summary>
    public async Task DisposeAsync()
    {
        var server = Interlocked.Exchange(ref _server, null);
        if (server is not null)
            await server.DisposeAsync();
    }

    /// <summary>A loopback port nothing listens on (just now).</summary>
    internal static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
