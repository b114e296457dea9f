namespace Lcluster.Rpc;

/// <summary>The header names and values of gRPC over HTTP/2 (PROTOCOL-HTTP2.md).</summary>
internal static class GrpcHeaders
{
    public const string ContentType = "application/grpc";
    public const string Status = "grpc-status";
    public const string Message = "grpc-message";
    public const string Timeout = "grpc-timeout";
    public const string Encoding = "grpc-encoding";
    public const string AcceptEncoding = "grpc-accept-encoding";
    public const string Identity = "identity";

    /// <summary>"application/grpc", "application/grpc+proto", "application/grpc;charset=..." are all gRPC.</summary>
    public static bool IsGrpcContentType(string? value)
    {
        if (value is null || !value.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
            return false;
        return value.Length == ContentType.Length || value[ContentType.Length] is '+' or ';';
    }
}
