using System.Net.Http;
using System.Net.Sockets;

namespace Lcluster.Shared;

/// <summary>
/// HTTP/2 over a Unix socket for Grpc.Net.Client: a SocketsHttpHandler.ConnectCallback that dials the path whatever
/// host the request names. Compiled into both programs (a node's socket) and the etcd client (the embedded etcd's).
/// </summary>
internal static class UnixSocketConnector
{
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> To(string path) => async (_, cancellationToken) =>
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    };
}
