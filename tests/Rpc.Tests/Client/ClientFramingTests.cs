using Lcluster.Rpc.Tests.Support;
using Lcluster.Rpc.Tests.Wire;
using Microsoft.AspNetCore.Http;

namespace Lcluster.Rpc.Tests.Client;

/// <summary>The client reading responses whose every byte the test writes, good and bad.</summary>
public sealed class ClientFramingTests
{
    private static readonly byte[] Hello = Frames.Of(new EchoReply { Text = "hello", Index = 1 });

    [Fact]
    public async Task ResponseSplitAcrossSeveralWrites_IsReassembled()
    {
        await using var stream = await StreamFrom(async http =>
        {
            await RawPeer.BeginGrpcAsync(http);
            foreach (var piece in new[] { Hello[..1], Hello[1..5], Hello[5..8], Hello[8..] })
            {
                await RawPeer.WriteAndFlushAsync(http, piece);
                await Task.Delay(20);
            }
            http.Response.AppendTrailer("grpc-status", "0");
        });
        {
            var call = stream.Call;
            Assert.True(await call.ResponseStream.MoveNextAsync());
            Assert.Equal("hello", call.ResponseStream.Current.Text);
            Assert.False(await call.ResponseStream.MoveNextAsync());
        }
    }

    [Fact]
    public async Task SeveralResponsesInOneWrite_AreReadOneByOne()
    {
        await using var stream = await StreamFrom(async http =>
        {
            await RawPeer.BeginGrpcAsync(http);
            await RawPeer.WriteAndFlushAsync(http, Frames.Concat(
                Frames.Of(new EchoReply { Index = 0 }), Frames.Header(0), Frames.Of(new EchoReply { Index = 2 })));
            http.Response.AppendTrailer("grpc-status", "0");
        });
        {
            var call = stream.Call;
            var indexes = new List<int>();
            while (await call.ResponseStream.MoveNextAsync())
                indexes.Add(call.ResponseStream.Current.Index);
            Assert.Equal([0, 0, 2], indexes);
        }
    }

    [Theory]
    [InlineData("truncated", StatusCode.Internal, "ended in the middle of a message")]
    [InlineData("compressed", StatusCode.Internal, "compression was never negotiated")]
    [InlineData("no-status", StatusCode.Unknown, "without a grpc-status")]
    [InlineData("html", StatusCode.Internal, "content-type 'text/html', not a gRPC response")]
    [InlineData("404", StatusCode.Unimplemented, "HTTP status 404")]
    [InlineData("503", StatusCode.Unavailable, "HTTP status 503")]
    [InlineData("odd-status", StatusCode.Unknown, "boom")]
    public async Task MalformedResponse_StatusSaysWhatWasWrong(string shape, StatusCode code, string detail)
    {
        await using var peer = await RawPeer.StartAsync(async http =>
        {
            switch (shape)
            {
                case "404" or "503":
                    http.Response.StatusCode = int.Parse(shape);
                    return;
                case "html":
                    http.Response.ContentType = "text/html";
                    await http.Response.WriteAsync("<html>not grpc</html>");
                    return;
            }
            await RawPeer.BeginGrpcAsync(http);
            if (shape == "truncated")
                await RawPeer.WriteAndFlushAsync(http, Hello[..7]);
            if (shape == "compressed")
                await RawPeer.WriteAndFlushAsync(http, Frames.Concat(Frames.Header(Hello.Length - 5, compressed: 1), Hello[5..]));
            if (shape == "odd-status")
            {
                http.Response.AppendTrailer("grpc-status", "99");
                http.Response.AppendTrailer("grpc-message", "boom");
            }
            else if (shape != "no-status")
            {
                http.Response.AppendTrailer("grpc-status", "0");
            }
        });
        using var channel = GrpcChannel.ForAddress(peer.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/any.Service/Call", new EchoRequest(), EchoReply.Parser));

        Assert.Equal(code, ex.StatusCode);
        Assert.Contains(detail, ex.Detail);
    }

    [Theory]
    [InlineData(0, "sent no response message")]
    [InlineData(2, "more than one response message")]
    public async Task UnaryResponseWithoutExactlyOneMessage_Internal(int messages, string detail)
    {
        await using var peer = await RawPeer.StartAsync(async http =>
        {
            await RawPeer.BeginGrpcAsync(http);
            for (var i = 0; i < messages; i++)
                await RawPeer.WriteAndFlushAsync(http, Hello);
            http.Response.AppendTrailer("grpc-status", "0");
        });
        using var channel = GrpcChannel.ForAddress(peer.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/any.Service/Call", new EchoRequest(), EchoReply.Parser));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Contains(detail, ex.Detail);
    }

    [Fact]
    public async Task RequestCarriesGrpcHeaders()
    {
        var seen = new TaskCompletionSource<string>();
        await using var peer = await RawPeer.StartAsync(http =>
        {
            seen.TrySetResult($"{http.Request.Method} {http.Request.Protocol} {http.Request.ContentType} te={http.Request.Headers.TE} timeout={http.Request.Headers["grpc-timeout"]}");
            http.Response.Headers["grpc-status"] = "5";
            return Task.CompletedTask;
        });
        using var channel = GrpcChannel.ForAddress(peer.Address);

        await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/any.Service/Call", new EchoRequest(), EchoReply.Parser,
            new CallOptions(Timeout: TimeSpan.FromSeconds(20))));

        Assert.Equal("POST HTTP/2 application/grpc te=trailers timeout=20000000u", await seen.Task);
    }

    private static async Task<PeerStream> StreamFrom(RequestDelegate respond)
    {
        var peer = await RawPeer.StartAsync(respond);
        var channel = GrpcChannel.ForAddress(peer.Address);
        return new PeerStream(peer, channel, channel.ServerStreaming("/any.Service/Stream", new EchoRequest(), EchoReply.Parser));
    }

    private sealed record PeerStream(RawPeer Peer, GrpcChannel Channel, ServerStreamingCall<EchoReply> Call) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Call.DisposeAsync();
            Channel.Dispose();
            await Peer.DisposeAsync();
        }
    }
}
