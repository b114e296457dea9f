using Lcluster.Rpc.Tests.Support;
using Lcluster.Rpc.Tests.Wire;

namespace Lcluster.Rpc.Tests.Server;

/// <summary>grpc-timeout: sent by the client, honoured by the server as a cancellation deadline.</summary>
public sealed class DeadlineTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly TaskCompletionSource<(DateTimeOffset? Deadline, bool Cancelled)> _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new GrpcService("rpctest.Slow")
        .Unary<EchoRequest, EchoReply>("Wait", EchoRequest.Parser, async (_, context) =>
        {
            Interlocked.Increment(ref _calls);
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            finally
            {
                _seen.TrySetResult((context.Deadline, context.CancellationToken.IsCancellationRequested));
            }
            return new EchoReply();
        }));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ClientTimeout_DeadlineExceeded_AndTheHandlerIsCancelled()
    {
        var before = DateTimeOffset.UtcNow;

        var ex = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync("/rpctest.Slow/Wait",
            new EchoRequest(), EchoReply.Parser, new CallOptions(Timeout: TimeSpan.FromMilliseconds(300))).WaitAsync(Bound));
        var (deadline, cancelled) = await _seen.Task.WaitAsync(Bound);

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.True(cancelled, "the handler's token did not fire");
        Assert.NotNull(deadline);
        Assert.InRange(deadline!.Value, before, before + Bound);
    }

    [Fact]
    public async Task GrpcTimeoutWithoutAnyClientTimer_ServerEndsTheCallWithDeadlineExceeded()
    {
        using var http = RawCall.Client();
        var request = RawCall.Request(_server.Address, "/rpctest.Slow/Wait", new ByteArrayContent(Frames.Header(0)));
        request.Headers.Add("grpc-timeout", "200m");

        using var response = await http.SendAsync(request).WaitAsync(Bound);
        var (status, message, _) = await RawCall.ReadAsync(response).WaitAsync(Bound);

        Assert.True(status == "4", $"grpc-status {status}: {message}");
        Assert.True((await _seen.Task.WaitAsync(Bound)).Cancelled);
    }

    [Fact]
    public async Task TimeoutAlreadyPassed_DeadlineExceededWithoutCallingTheServer()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync("/rpctest.Slow/Wait",
            new EchoRequest(), EchoReply.Parser, new CallOptions(Timeout: TimeSpan.Zero)));

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.Equal(0, Volatile.Read(ref _calls));
    }

    [Fact]
    public async Task MalformedGrpcTimeout_Internal()
    {
        using var http = RawCall.Client();
        var request = RawCall.Request(_server.Address, "/rpctest.Slow/Wait", new ByteArrayContent(Frames.Header(0)));
        request.Headers.TryAddWithoutValidation("grpc-timeout", "soon");

        using var response = await http.SendAsync(request);
        var (status, message, _) = await RawCall.ReadAsync(response);

        Assert.Equal("13", status);
        Assert.Equal("malformed grpc-timeout 'soon'", StatusText.Decode(message));
    }
}
