using System.Collections.Concurrent;
using Grpc.Net.Client;
using Lcluster.Shared;

namespace Lcluster.Daemon.Api;

/// <summary>One gRPC channel per peer node address, kept for the daemon's lifetime; over mutual TLS with the node's certificate when it has one.</summary>
internal sealed class NodeChannels(TlsIdentity? tls) : IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new();

    public GrpcChannel For(string address) => _channels.GetOrAdd(address, a => NodeChannel.Open(a, tls?.ClientOptions()));

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
            channel.Dispose();
    }
}
