using System.Net;
using Lcluster.Rpc.Tests.Support;
using Lcluster.Rpc.Tests.Wire;

namespace Lcluster.Rpc.Tests.Server;

/// <summary>How a call's outcome on the server reaches the client as a status.</summary>
public sealed class StatusTests : IAsyncLifetime
{
    private const string NonAscii = "job «ジョブ-7» not found: 100% ✗ 🚀\nsecond line";
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(EchoService.Create(), new GrpcService("rpctest.Fail")
        .Unary<EchoRequest, EchoReply>("Status", EchoRequest.Parser, (request, _) =>
            throw new RpcException((StatusCode)request.Count, request.Text))
        .ServerStreaming<EchoRequest, EchoReply>("StatusAfterTwo", EchoRequest.Parser, async (request, writer, _) =>
        {
            await writer.WriteAsync(new EchoReply { Index = 0 });
            await writer.WriteAsync(new EchoReply { Index = 1 });
            throw new RpcException((StatusCode)request.Count, request.Text);
        })
        .Unary<EchoRequest, EchoReply>("Crash", EchoRequest.Parser, (request, _) =>
            throw new InvalidOperationException($"secret detail {request.Text}")));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ErrorBeforeAnyMessage_CodeAndNonAsciiMessageArriveIntact()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync("/rpctest.Fail/Status",
            new EchoRequest { Text = NonAscii, Count = (int)StatusCode.NotFound }, EchoReply.Parser));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal(NonAscii, ex.Detail);
    }

    [Fact]
    public async Task ErrorBeforeAnyMessage_IsATrailersOnlyResponse()
    {
        using var http = RawCall.Client();
        var body = Frames.Of(new EchoRequest { Text = "x", Count = (int)StatusCode.AlreadyExists });

        using var response = await http.SendAsync(RawCall.Request(_server.Address, "/rpctest.Fail/Status", new ByteArrayContent(body)));
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("6", response.Headers.GetValues("grpc-status").Single());
        Assert.Empty(bytes);
        Assert.Empty(response.TrailingHeaders);
    }

    [Fact]
    public async Task ErrorAfterMessages_MessagesThenCodeAndNonAsciiMessageFromTrailers()
    {
        await using var call = _server.Channel.ServerStreaming("/rpctest.Fail/StatusAfterTwo",
            new EchoRequest { Text = NonAscii, Count = (int)StatusCode.FailedPrecondition }, EchoReply.Parser);

        Assert.True(await call.ResponseStream.MoveNextAsync());
        Assert.True(await call.ResponseStream.MoveNextAsync());
        Assert.Equal(1, call.ResponseStream.Current.Index);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNextAsync());

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal(NonAscii, ex.Detail);
    }

    [Fact]
    public async Task HandlerCrash_InternalWithoutDetailsForTheClient_FullDetailsInTheLog()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync("/rpctest.Fail/Crash",
            new EchoRequest { Text = "xyzzy" }, EchoReply.Parser));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Equal("internal error", ex.Detail);
        var line = Assert.Single(_server.Log);
        Assert.Contains("/rpctest.Fail/Crash from ipv4:127.0.0.1:", line);
        Assert.Contains("InvalidOperationException: secret detail xyzzy", line);
        Assert.DoesNotContain('\n', line);
    }

    [Theory]
    [InlineData("/rpctest.Echo/NoSuchMethod")]
    [InlineData("/rpctest.NoSuchService/Unary")]
    [InlineData("/not-even-a-path")]
    public async Task UnknownMethod_Unimplemented(string method)
    {
        using var http = RawCall.Client();

        using var response = await http.SendAsync(RawCall.Request(_server.Address, method, new ByteArrayContent(Frames.Header(0))));
        var (status, message, _) = await RawCall.ReadAsync(response);

        Assert.Equal("12", status);
        Assert.Equal($"unknown method {method}", StatusText.Decode(message));
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/grpcx")]
    [InlineData("text/plain")]
    public async Task WrongContentType_Http415(string contentType)
    {
        using var http = RawCall.Client();

        using var response = await http.SendAsync(RawCall.Request(_server.Address, "/rpctest.Echo/Unary",
            new ByteArrayContent(Frames.Header(0)), contentType));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("need content-type application/grpc", body);
    }

    [Fact]
    public async Task GrpcContentTypeWithProtoSuffix_IsAccepted()
    {
        using var http = RawCall.Client();

        using var response = await http.SendAsync(RawCall.Request(_server.Address, "/rpctest.Echo/Unary",
            new ByteArrayContent(Frames.Of(new EchoRequest { Text = "hi" })), "application/grpc+proto"));
        var (status, _, _) = await RawCall.ReadAsync(response);

        Assert.Equal("0", status);
    }
}
