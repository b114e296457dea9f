namespace Lcluster.Rpc;

/// <summary>A call that ended with a non-OK gRPC status, on either side of the wire.</summary>
public sealed class RpcException : Exception
{
    public RpcException(StatusCode statusCode, string detail)
        : this(statusCode, detail, null)
    {
    }

    public RpcException(StatusCode statusCode, string detail, Exception? innerException)
        : base($"{statusCode}: {detail}", innerException)
    {
        StatusCode = statusCode;
        Detail = detail;
    }

    public StatusCode StatusCode { get; }

    /// <summary>The status message (<c>grpc-message</c>, percent-decoded).</summary>
    public string Detail { get; }
}
