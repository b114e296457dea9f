using System.Net.Sockets;
using Lcluster.Rpc;

namespace Lcluster.Rpc.Tests.Client;

/// <summary>What a failed transport becomes: callers retry UNAVAILABLE elsewhere, so a dead connection must say so.</summary>
public sealed class TransportErrorTests
{
    private static RpcException Map(Exception e) => TransportErrors.ToRpcException(e, "10.0.0.1:2379", TimeSpan.FromSeconds(3));

    [Fact]
    public void A_refused_connection_is_unavailable_and_says_so()
    {
        var error = Map(new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused)));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("cannot reach 10.0.0.1:2379: connection refused", error.Detail);
    }

    [Fact]
    public void A_connection_reset_while_http2_is_set_up_is_unavailable()
    {
        var error = Map(new HttpRequestException("An error occurred while sending the request.", new ObjectDisposedException("System.Net.Sockets.NetworkStream")));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.StartsWith("cannot reach 10.0.0.1:2379: the connection failed", error.Detail);
    }

    [Fact]
    public void A_stream_torn_down_by_the_peer_is_unavailable()
    {
        var error = Map(new TaskCanceledException("The operation was canceled."));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public void Our_own_disposed_channel_is_cancelled_and_anything_else_is_unknown()
    {
        Assert.Equal(StatusCode.Cancelled, Map(new ObjectDisposedException("HttpMessageInvoker")).StatusCode);
        Assert.Equal(StatusCode.Unknown, Map(new InvalidOperationException("odd")).StatusCode);
    }
}
