using Grpc.Core;

namespace Lcluster.Daemon.Api;

/// <summary>The gRPC statuses the API answers with, each with a message a person understands.</summary>
internal static class Statuses
{
    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    public static RpcException NotFound(string id) => new(new Status(StatusCode.NotFound, $"no job {id} (it never existed, or it was removed)"));

    public static RpcException Exhausted(string message) => new(new Status(StatusCode.ResourceExhausted, message));

    public static RpcException Unavailable(string message) => new(new Status(StatusCode.Unavailable, message));

    public static RpcException Internal(string message) => new(new Status(StatusCode.Internal, message));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));
}
