using Lcluster.Rpc;

namespace Lcluster.Etcd;

/// <summary>One etcd member the client may talk to.</summary>
internal sealed record Endpoint(int Index, string Address, GrpcChannel Channel);
