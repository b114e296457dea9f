using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;

namespace Lcluster.Shared;

/// <summary>
/// Tells "the peer could not be reached" apart from "the peer answered with a status", and
/// says why in a few words. Compiled into both programs and the etcd client.
/// </summary>
internal static class TransportFailure
{
    /// <summary>The call failed in the transport (no connection, a reset, a dead peer): Grpc.Net.Client keeps the cause inside.</summary>
    public static bool IsTransport(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled
        && e.Status.DebugException is HttpRequestException or IOException or SocketException;

    /// <summary>"connection refused", "connection reset", ... from the exception the transport threw.</summary>
    public static string Cause(RpcException e)
    {
        for (var inner = e.Status.DebugException; inner != null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
                return Describe(socket.SocketErrorCode);
        }
        return e.Status.DebugException?.GetBaseException().Message ?? e.Status.Detail;
    }

    /// <summary>No connection was made at all (refused, no route, unknown host), as opposed to one the peer broke or answered oddly.</summary>
    public static bool NoConnection(RpcException e)
    {
        for (var inner = e.Status.DebugException; inner != null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: not SocketError.ConnectionReset and not SocketError.ConnectionAborted and not SocketError.Shutdown })
                return true;
        }
        return false;
    }

    public static string Describe(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.ConnectionReset => "connection reset",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.NetworkDown => "network down",
        SocketError.HostNotFound => "unknown host",
        SocketError.TimedOut => "connection timed out",
        SocketError.AccessDenied => "permission denied",
        SocketError.AddressNotAvailable => "address not available",
        _ => error.ToString(),
    };
}
