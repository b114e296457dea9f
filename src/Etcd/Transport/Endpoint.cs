using Grpc.Net.Client;
using Lcluster.Etcd.Api;

namespace Lcluster.Etcd.Transport;

/// <summary>One etcd member the client may talk to: its channel and the stubs generated from protos/etcd.proto.</summary>
internal sealed class Endpoint(int index, string address, GrpcChannel channel)
{
    public int Index { get; } = index;
    public string Address { get; } = address;
    public GrpcChannel Channel { get; } = channel;
    public KV.KVClient Kv { get; } = new(channel);
    public Watch.WatchClient Watch { get; } = new(channel);
    public Lease.LeaseClient Lease { get; } = new(channel);
    public Maintenance.MaintenanceClient Maintenance { get; } = new(channel);
}
