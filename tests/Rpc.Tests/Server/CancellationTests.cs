using Lcluster.Rpc.Tests.Support;
using Lcluster.Rpc.Tests.Wire;

namespace Lcluster.Rpc.Tests.Server;

/// <summary>Calls cut short in the middle of a stream: each side sees the cancellation.</summary>
public sealed class CancellationTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly TaskCompletionSource<string> _handlerEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _handlerStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new GrpcService("rpctest.Endless")
        .Unary<EchoRequest, EchoReply>("Hang", EchoRequest.Parser, async (_, context) =>
        {
            _handlerStarted.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                _handlerEnded.TrySetResult("cancelled");
                throw;
            }
            return new EchoReply();
        })
        .ServerStreaming<EchoRequest, EchoReply>("Ticks", EchoRequest.Parser, async (_, writer, context) =>
        {
            try
            {
                for (var i = 0; ; i++)
                {
                    await writer.WriteAsync(new EchoReply { Index = i });
                    await Task.Delay(10, context.CancellationToken);
                }
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                _handlerEnded.TrySetResult("cancelled");
                throw;
            }
            catch (Exception ex)
            {
                _handlerEnded.TrySetResult($"failed: {ex}");
                throw;
            }
        })
        .DuplexStreaming<EchoRequest, EchoReply>("Chat", EchoRequest.Parser, async (requests, writer, context) =>
        {
            try
            {
                while (await requests.MoveNextAsync())
                {
                    if (requests.Current.Text == "stop")
                        throw new RpcException(StatusCode.Aborted, "the server ended the chat");
                    await writer.WriteAsync(new EchoReply { Text = requests.Current.Text });
                }
                _handlerEnded.TrySetResult("half-closed");
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                _handlerEnded.TrySetResult("cancelled");
                throw;
            }
        }));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ClientCancelsAUnaryCallWhileTheHandlerWaits_HandlerIsCancelled()
    {
        using var cancel = new CancellationTokenSource();
        var call = _server.Channel.UnaryAsync("/rpctest.Endless/Hang", new EchoRequest(), EchoReply.Parser,
            new CallOptions(CancellationToken: cancel.Token));
        await _handlerStarted.Task.WaitAsync(Bound);

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Bound));
        Assert.Equal("cancelled", await _handlerEnded.Task.WaitAsync(Bound));
    }

    [Fact]
    public async Task ClientCancelsMidServerStream_ClientGetsOperationCanceled_HandlerIsCancelled()
    {
        using var cancel = new CancellationTokenSource();
        await using var call = _server.Channel.ServerStreaming("/rpctest.Endless/Ticks", new EchoRequest(), EchoReply.Parser,
            new CallOptions(CancellationToken: cancel.Token));
        for (var i = 0; i < 3; i++)
            Assert.True(await call.ResponseStream.MoveNextAsync());

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.ResponseStream.MoveNextAsync());
        Assert.Equal("cancelled", await _handlerEnded.Task.WaitAsync(Bound));
    }

    [Fact]
    public async Task ClientDisposesMidServerStream_HandlerIsCancelled()
    {
        var call = _server.Channel.ServerStreaming("/rpctest.Endless/Ticks", new EchoRequest(), EchoReply.Parser);
        Assert.True(await call.ResponseStream.MoveNextAsync());

        await call.DisposeAsync();

        Assert.Equal("cancelled", await _handlerEnded.Task.WaitAsync(Bound));
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNextAsync());
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
    }

    [Fact]
    public async Task ReadCancelledByItsOwnToken_CancelsTheCall()
    {
        await using var call = _server.Channel.ServerStreaming("/rpctest.Endless/Ticks", new EchoRequest(), EchoReply.Parser);
        Assert.True(await call.ResponseStream.MoveNextAsync());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.ResponseStream.MoveNextAsync(new CancellationToken(canceled: true)));

        Assert.Equal("cancelled", await _handlerEnded.Task.WaitAsync(Bound));
    }

    [Fact]
    public async Task ClientCancelsMidBidiStream_BothSidesSeeTheCancellation()
    {
        using var cancel = new CancellationTokenSource();
        await using var call = _server.Channel.DuplexStreaming<EchoRequest, EchoReply>("/rpctest.Endless/Chat", EchoReply.Parser,
            new CallOptions(CancellationToken: cancel.Token));
        await call.WriteAsync(new EchoRequest { Text = "one" });
        Assert.True(await call.ResponseStream.MoveNextAsync());
        var pendingRead = call.ResponseStream.MoveNextAsync();

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pendingRead.WaitAsync(Bound));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WriteAsync(new EchoRequest { Text = "two" }));
        Assert.Equal("cancelled", await _handlerEnded.Task.WaitAsync(Bound));
    }

    [Fact]
    public async Task ServerEndsMidBidiStream_ClientReadsTheStatus_AndItsNextWriteFails()
    {
        await using var call = _server.Channel.DuplexStreaming<EchoRequest, EchoReply>("/rpctest.Endless/Chat", EchoReply.Parser);
        await call.WriteAsync(new EchoRequest { Text = "one" });
        Assert.True(await call.ResponseStream.MoveNextAsync());

        await call.WriteAsync(new EchoRequest { Text = "stop" });
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNextAsync().WaitAsync(Bound));

        Assert.Equal(StatusCode.Aborted, ex.StatusCode);
        Assert.Equal("the server ended the chat", ex.Detail);
        await Assert.ThrowsAsync<RpcException>(() => call.WriteAsync(new EchoRequest { Text = "late" }));
    }

    [Fact]
    public async Task ClientHalfClosesBidiStream_ServerSeesTheEndAndTheCallEndsOk()
    {
        await using var call = _server.Channel.DuplexStreaming<EchoRequest, EchoReply>("/rpctest.Endless/Chat", EchoReply.Parser);
        await call.WriteAsync(new EchoRequest { Text = "only" });
        await call.CompleteAsync();

        Assert.True(await call.ResponseStream.MoveNextAsync());
        Assert.Equal("only", call.ResponseStream.Current.Text);
        Assert.False(await call.ResponseStream.MoveNextAsync());
        Assert.Equal("half-closed", await _handlerEnded.Task.WaitAsync(Bound));
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.WriteAsync(new EchoRequest()));
    }

    [Fact]
    public async Task BidiReadBeforeAnyWrite_DoesNotDeadlock()
    {
        await using var call = _server.Channel.DuplexStreaming<EchoRequest, EchoReply>("/rpctest.Endless/Chat", EchoReply.Parser);
        var read = call.ResponseStream.MoveNextAsync();

        await call.WriteAsync(new EchoRequest { Text = "late first write" }).WaitAsync(Bound);

        Assert.True(await read.WaitAsync(Bound));
        Assert.Equal("late first write", call.ResponseStream.Current.Text);
    }
}
