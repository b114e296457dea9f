using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Lcluster.Rpc;

/// <summary>Turns what HttpClient throws into the gRPC status a caller can act on.</summary>
internal static class TransportErrors
{
    public static RpcException ToRpcException(Exception ex, string target, TimeSpan connectTimeout)
    {
        for (var e = ex; e != null; e = e.InnerException)
        {
            switch (e)
            {
                case HttpProtocolException protocol:
                    return FromHttp2Error(protocol, target, ex);
                case SocketException socket:
                    return Unavailable(target, Describe(socket.SocketErrorCode, socket.Message), ex);
                case AuthenticationException tls:
                    return Unavailable(target, $"TLS handshake failed: {tls.Message}", ex);
                case TimeoutException:
                    return Unavailable(target, $"connect timed out after {connectTimeout.TotalSeconds:0.###} s", ex);
            }
        }
        for (var e = ex; e != null; e = e.InnerException)
        {
            var error = e switch
            {
                HttpRequestException request => request.HttpRequestError,
                HttpIOException io => io.HttpRequestError,
                _ => (HttpRequestError?)null,
            };
            if (error is { } known && known != HttpRequestError.Unknown)
                return Unavailable(target, Describe(known), ex);
            if (e is IOException io2 && e.InnerException is null)
                return Unavailable(target, $"the connection failed mid-call: {io2.Message}", ex);
        }
        if (ex is ObjectDisposedException)
            return new RpcException(StatusCode.Cancelled, $"the channel to {target} was disposed", ex);
        // The connection went away under the call (a reset during HTTP/2 set-up, a stream torn down
        // by the peer's exit): the transport failed, not the call, so it is worth retrying elsewhere.
        for (var e = ex; e != null; e = e.InnerException)
        {
            if (e is HttpRequestException or IOException or OperationCanceledException or ObjectDisposedException)
                return Unavailable(target, $"the connection failed: {ex.Message}", ex);
        }
        return new RpcException(StatusCode.Unknown, $"the call to {target} failed: {ex.Message}", ex);
    }

    private static RpcException Unavailable(string target, string cause, Exception ex) =>
        new(StatusCode.Unavailable, $"cannot reach {target}: {cause}", ex);

    // PROTOCOL-HTTP2.md maps RST_STREAM codes; a reset that is not the peer's verdict on us means "try again".
    private static RpcException FromHttp2Error(HttpProtocolException ex, string target, Exception outer) => ex.ErrorCode switch
    {
        0x8 => new RpcException(StatusCode.Cancelled, $"{target} cancelled the stream", outer),
        0xb => new RpcException(StatusCode.ResourceExhausted, $"{target} refused the stream: ENHANCE_YOUR_CALM (too many requests or pings)", outer),
        0xc => new RpcException(StatusCode.PermissionDenied, $"{target} refused the stream: INADEQUATE_SECURITY", outer),
        0x1 or 0x3 or 0x6 or 0x9 => new RpcException(StatusCode.Internal, $"HTTP/2 protocol error 0x{ex.ErrorCode:x} with {target}: {ex.Message}", outer),
        _ => Unavailable(target, $"the stream was reset (HTTP/2 error 0x{ex.ErrorCode:x})", outer),
    };

    private static string Describe(SocketError error, string fallback) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset => "connection reset",
        SocketError.ConnectionAborted => "connection aborted",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.NetworkDown => "network down",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host not found",
        SocketError.TimedOut => "connection timed out",
        SocketError.Shutdown => "connection closed",
        _ => fallback,
    };

    private static string Describe(HttpRequestError error) => error switch
    {
        HttpRequestError.NameResolutionError => "host not found",
        HttpRequestError.ConnectionError => "connection failed",
        HttpRequestError.SecureConnectionError => "TLS handshake failed",
        HttpRequestError.ResponseEnded => "the connection closed mid-call",
        HttpRequestError.VersionNegotiationError or HttpRequestError.HttpProtocolError => "the server does not speak gRPC over HTTP/2",
        HttpRequestError.InvalidResponse => "invalid HTTP/2 response",
        _ => error.ToString(),
    };
}
