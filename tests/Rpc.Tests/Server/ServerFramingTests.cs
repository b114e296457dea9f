using Google.Protobuf;
using Lcluster.Rpc.Tests.Support;
using Lcluster.Rpc.Tests.Wire;

namespace Lcluster.Rpc.Tests.Server;

/// <summary>The server meeting every framing rule on the wire, with requests whose bytes the test controls.</summary>
public sealed class ServerFramingTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(EchoService.Create());

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task RequestSplitAcrossSeveralReads_ReachesTheHandlerIntact()
    {
        var frame = Frames.Of(new EchoRequest { Text = "split across reads", Payload = ByteString.CopyFrom(new byte[100]) });
        var content = new RawCall.PiecesContent(frame[..2], frame[2..7], frame[7..40], frame[40..]);
        using var http = RawCall.Client();

        using var response = await http.SendAsync(RawCall.Request(_server.Address, "/rpctest.Echo/Unary", content));
        var (status, message, body) = await RawCall.ReadAsync(response);

        Assert.True(status == "0", $"grpc-status {status}: {message}");
        Assert.Equal("split across reads", EchoReply.Parser.ParseFrom(body.AsSpan(5)).Text);
    }

    [Fact]
    public async Task SeveralRequestsInOneWrite_EachIsAnswered()
    {
        var frames = Frames.Concat(Enumerable.Range(0, 3).Select(i => Frames.Of(new EchoRequest { Text = $"m{i}" })).ToArray());
        using var http = RawCall.Client();

        using var response = await http.SendAsync(RawCall.Request(_server.Address, "/rpctest.Echo/Chat", new ByteArrayContent(frames)));
        var (status, message, body) = await RawCall.ReadAsync(response);

        Assert.True(status == "0", $"grpc-status {status}: {message}");
        var replies = new List<string>();
        for (var at = 0; at < body.Length;)
        {
            var length = (body[at + 1] << 24) | (body[at + 2] << 16) | (body[at + 3] << 8) | body[at + 4];
            replies.Add(EchoReply.Parser.ParseFrom(body.AsSpan(at + 5, length)).Text);
            at += 5 + length;
        }
        Assert.Equal(["m0", "m1", "m2"], replies);
    }

    [Fact]
    public async Task ZeroLengthRequestAndResponse_AreEmptyMessagesBothWays()
    {
        using var http = RawCall.Client();

        using var response = await http.SendAsync(RawCall.Request(_server.Address, "/rpctest.Echo/Unary", new ByteArrayContent(Frames.Header(0))));
        var (status, _, body) = await RawCall.ReadAsync(response);
        var reply = await _server.Channel.UnaryAsync("/rpctest.Echo/Unary", new EchoRequest(), EchoReply.Parser);

        Assert.Equal("0", status);
        Assert.Equal(Frames.Header(0), body);
        Assert.Equal(new EchoReply(), reply);
    }

    [Fact]
    public async Task RequestOfNearlyTheDefaultLimit_RoundTripsBothWays()
    {
        var payload = ByteString.CopyFrom(Enumerable.Range(0, 4 * 1024 * 1024 - 64).Select(i => (byte)i).ToArray());

        var reply = await _server.Channel.UnaryAsync("/rpctest.Echo/Unary", new EchoRequest { Payload = payload }, EchoReply.Parser);

        Assert.Equal(payload, reply.Payload);
    }

    [Fact]
    public async Task RequestOverTheServerLimit_ResourceExhausted()
    {
        using var channel = GrpcChannel.ForAddress(_server.Address, new GrpcChannelOptions { MaxSendMessageSize = 8 * 1024 * 1024 });
        var request = new EchoRequest { Payload = ByteString.CopyFrom(new byte[4 * 1024 * 1024 + 1]) };

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/rpctest.Echo/Unary", request, EchoReply.Parser));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("over the receive limit of 4194304 bytes", ex.Detail);
    }

    [Fact]
    public async Task ResponseOverTheClientLimit_ResourceExhausted()
    {
        using var channel = GrpcChannel.ForAddress(_server.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 1024 });

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/rpctest.Echo/Unary",
            new EchoRequest { Payload = ByteString.CopyFrom(new byte[2048]) }, EchoReply.Parser));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("response message is 2051 bytes, over the receive limit of 1024 bytes", ex.Detail);
    }

    [Fact]
    public async Task RequestOverTheClientSendLimit_ResourceExhaustedBeforeAnythingIsSent()
    {
        using var channel = GrpcChannel.ForAddress(_server.Address, new GrpcChannelOptions { MaxSendMessageSize = 100 });

        var ex = Assert.Throws<RpcException>(() => channel.ServerStreaming("/rpctest.Echo/Repeat",
            new EchoRequest { Payload = ByteString.CopyFrom(new byte[200]) }, EchoReply.Parser));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("over the send limit of 100 bytes", ex.Detail);
    }

    [Theory]
    [InlineData("truncated", "ended in the middle of a message")]
    [InlineData("none", "sent no request message")]
    [InlineData("two", "more than one request message")]
    [InlineData("compressed", "compression was never negotiated")]
    public async Task MalformedUnaryRequest_InternalSayingWhatWasWrong(string shape, string expected)
    {
        var frame = Frames.Of(new EchoRequest { Text = "a request" });
        var body = shape switch
        {
            "truncated" => frame[..8],
            "none" => [],
            "two" => Frames.Concat(frame, frame),
            _ => Frames.Concat(Frames.Header(frame.Length - 5, compressed: 1), frame[5..]),
        };
        using var http = RawCall.Client();

        using var response = await http.SendAsync(RawCall.Request(_server.Address, "/rpctest.Echo/Unary", new ByteArrayContent(body)));
        var (status, message, _) = await RawCall.ReadAsync(response);

        Assert.Equal("13", status);
        Assert.Contains(expected, StatusText.Decode(message));
    }

    [Fact]
    public async Task CompressedEncodingHeader_UnimplementedAdvertisingIdentity()
    {
        using var http = RawCall.Client();
        var request = RawCall.Request(_server.Address, "/rpctest.Echo/Unary", new ByteArrayContent(Frames.Header(0)));
        request.Headers.Add("grpc-encoding", "gzip");

        using var response = await http.SendAsync(request);
        var (status, message, _) = await RawCall.ReadAsync(response);

        Assert.Equal("12", status);
        Assert.Contains("compression 'gzip' is not supported", StatusText.Decode(message));
        Assert.Equal("identity", response.Headers.GetValues("grpc-accept-encoding").Single());
    }
}
