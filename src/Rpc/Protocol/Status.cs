using System.Globalization;
using System.Net.Http.Headers;

namespace Lcluster.Rpc;

/// <summary>A call's final gRPC status.</summary>
internal readonly record struct Status(StatusCode Code, string Detail)
{
    public static readonly Status Ok = new(StatusCode.OK, "");

    public RpcException ToException() => new(Code, Detail);

    /// <summary>grpc-status and grpc-message from one header block; null when it has no grpc-status.</summary>
    public static Status? From(HttpHeaders headers)
    {
        if (!headers.TryGetValues(GrpcHeaders.Status, out var values))
            return null;
        var text = values.FirstOrDefault();
        var detail = headers.TryGetValues(GrpcHeaders.Message, out var messages)
            ? StatusText.Decode(messages.FirstOrDefault())
            : "";
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
            return new Status(StatusCode.Unknown, $"malformed grpc-status '{text}' ({detail})");
        return new Status(code is >= 0 and <= 16 ? (StatusCode)code : StatusCode.Unknown, detail);
    }
}
