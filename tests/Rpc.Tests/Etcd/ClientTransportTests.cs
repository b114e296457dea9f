using Google.Protobuf;
using Lcluster.Etcd.Api;

namespace Lcluster.Rpc.Tests.Etcd;

/// <summary>Connections that fail: nothing listening, a peer that dies in the middle of a stream.</summary>
public sealed class ClientTransportTests
{
    [Fact]
    public async Task Unary_NothingListening_UnavailableNamingTheTargetAndTheCause()
    {
        var address = $"127.0.0.1:{EtcdServer.FreePort()}";
        using var channel = GrpcChannel.ForAddress(address);

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync("/etcdserverpb.KV/Range",
            new RangeRequest(), RangeResponse.Parser, new CallOptions(Timeout: TimeSpan.FromSeconds(30))));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Equal($"cannot reach {address}: connection refused", ex.Detail);
    }

    [Fact]
    public async Task Duplex_NothingListening_FirstWriteIsUnavailable()
    {
        var address = $"127.0.0.1:{EtcdServer.FreePort()}";
        using var channel = GrpcChannel.ForAddress(address);
        await using var watch = channel.DuplexStreaming<WatchRequest, WatchResponse>(
            "/etcdserverpb.Watch/Watch", WatchResponse.Parser, new CallOptions(Timeout: TimeSpan.FromSeconds(30)));

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            watch.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8("k") } }));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains($"cannot reach {address}", ex.Detail);
    }

    [Fact]
    public async Task Duplex_EtcdKilledUnderAnOpenWatch_Unavailable()
    {
        var etcd = new EtcdServer();
        await etcd.InitializeAsync();
        try
        {
            using var channel = GrpcChannel.ForAddress(etcd.Address);
            await using var watch = channel.DuplexStreaming<WatchRequest, WatchResponse>(
                "/etcdserverpb.Watch/Watch", WatchResponse.Parser, new CallOptions(Timeout: TimeSpan.FromSeconds(60)));
            await watch.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = ByteString.CopyFromUtf8("k") } });
            Assert.True(await watch.ResponseStream.MoveNextAsync());
            var read = watch.ResponseStream.MoveNextAsync();

            await etcd.DisposeAsync();

            var ex = await Assert.ThrowsAsync<RpcException>(() => read);
            Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
            Assert.StartsWith($"cannot reach {etcd.Address}: ", ex.Detail);
        }
        finally
        {
            await etcd.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("http://")]
    [InlineData("ftp://host:1")]
    [InlineData("http://host:1/path")]
    [InlineData("host:notaport")]
    public void ForAddress_NotAnAddress_ArgumentExceptionSayingWhatIsExpected(string address)
    {
        var ex = Assert.Throws<ArgumentException>(() => GrpcChannel.ForAddress(address));
        Assert.Contains("use host:port", ex.Message);
    }

    [Theory]
    [InlineData("127.0.0.1:2379", "127.0.0.1:2379")]
    [InlineData("http://localhost:80", "localhost:80")]
    [InlineData("https://example.org:8443", "example.org:8443")]
    [InlineData("[::1]:2379", "[::1]:2379")]
    public void ForAddress_Target_IsHostAndPort(string address, string target)
    {
        using var channel = GrpcChannel.ForAddress(address);
        Assert.Equal(target, channel.Target);
    }
}
