using Lcluster.Rpc.Tests.Support;
using Lcluster.Rpc.Tests.Wire;

namespace Lcluster.Rpc.Tests.Server;

/// <summary>Bidi streams whose timing has bitten before: who speaks first, and long silences.</summary>
public sealed class StreamTimingTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(EchoService.Create(), new GrpcService("rpctest.Greeter")
        .DuplexStreaming<EchoRequest, EchoReply>("Greet", EchoRequest.Parser, async (requests, writer, context) =>
        {
            await writer.WriteAsync(new EchoReply { Text = "hello first" });
            while (await requests.MoveNextAsync(context.CancellationToken))
                await writer.WriteAsync(new EchoReply { Text = requests.Current.Text });
        }));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ServerSpeaksFirst_ClientReadsBeforeItWritesAnything()
    {
        await using var call = _server.Channel.DuplexStreaming<EchoRequest, EchoReply>("/rpctest.Greeter/Greet", EchoReply.Parser);

        Assert.True(await call.ResponseStream.MoveNextAsync().WaitAsync(Bound));
        Assert.Equal("hello first", call.ResponseStream.Current.Text);
        await call.WriteAsync(new EchoRequest { Text = "and back" });
        Assert.True(await call.ResponseStream.MoveNextAsync().WaitAsync(Bound));
        Assert.Equal("and back", call.ResponseStream.Current.Text);
    }

    [Fact]
    public async Task IdleBidiStream_OutlivesKestrelsMinimumDataRateGrace()
    {
        await using var call = _server.Channel.DuplexStreaming<EchoRequest, EchoReply>("/rpctest.Echo/Chat", EchoReply.Parser);
        await call.WriteAsync(new EchoRequest { Text = "before" });
        Assert.True(await call.ResponseStream.MoveNextAsync());

        // Kestrel's default minimum request data rate resets a silent stream after about 5-6 s.
        await Task.Delay(TimeSpan.FromSeconds(7));

        await call.WriteAsync(new EchoRequest { Text = "after seven silent seconds" });
        Assert.True(await call.ResponseStream.MoveNextAsync().WaitAsync(Bound));
        Assert.Equal("after seven silent seconds", call.ResponseStream.Current.Text);
        Assert.Empty(_server.Log);
    }
}
