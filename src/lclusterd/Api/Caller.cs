using Grpc.Core;

namespace Lcluster.Daemon.Api;

/// <summary>
/// Who is calling, as the node established it from the connection (docs/security.md):
/// the user name jobs are recorded under, and whether it may act on every job.
/// </summary>
internal sealed record Caller(string User, bool IsAdmin)
{
    /// <summary>The caller the connection's identity check put on the request.</summary>
    public static Caller Of(ServerCallContext context) =>
        context.GetHttpContext().Features.Get<Caller>()
        ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "this connection carries no identity lclusterd accepts"));

    /// <summary>May this caller see and act on a job of <paramref name="owner"/>?</summary>
    public bool MayAccess(string owner) => IsAdmin || owner == User;
}
