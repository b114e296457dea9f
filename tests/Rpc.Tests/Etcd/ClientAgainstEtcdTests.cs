using Google.Protobuf;
using Lcluster.Etcd.Api;

namespace Lcluster.Rpc.Tests.Etcd;

/// <summary>The client against etcd's own gRPC server: unary, server stream, bidi stream, errors.</summary>
public sealed class ClientAgainstEtcdTests(EtcdServer etcd) : IClassFixture<EtcdServer>, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(etcd.Address);
    private readonly CancellationTokenSource _bound = new(Bound);

    public void Dispose()
    {
        _channel.Dispose();
        _bound.Dispose();
    }

    [Fact]
    public async Task Unary_PutThenRange_ReadsBackTheValue()
    {
        var key = Key("unary");
        var put = await _channel.UnaryAsync("/etcdserverpb.KV/Put",
            new PutRequest { Key = key, Value = ByteString.CopyFromUtf8("välue ✓") }, PutResponse.Parser, Bounded());
        var range = await _channel.UnaryAsync("/etcdserverpb.KV/Range",
            new RangeRequest { Key = key }, RangeResponse.Parser, Bounded());

        Assert.True(put.Header.Revision > 0, $"Put returned no revision: {put}");
        var kv = Assert.Single(range.Kvs);
        Assert.Equal("välue ✓", kv.Value.ToStringUtf8());
        Assert.Equal(put.Header.Revision, kv.ModRevision);
    }

    [Fact]
    public async Task Unary_EtcdRejectsTheRequest_StatusAndMessageFromTrailersOnlyResponse()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryAsync("/etcdserverpb.KV/Put",
            new PutRequest { Value = ByteString.CopyFromUtf8("no key") }, PutResponse.Parser, Bounded()));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("key is not provided", ex.Detail);
    }

    [Fact]
    public async Task Unary_UnknownMethod_IsUnimplemented()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryAsync("/etcdserverpb.KV/NoSuchMethod",
            new RangeRequest(), RangeResponse.Parser, Bounded()));

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }

    [Fact]
    public async Task ServerStreaming_Snapshot_ReadsEveryChunkUntilTheStreamEndsOk()
    {
        await using var call = _channel.ServerStreaming("/etcdserverpb.Maintenance/Snapshot",
            new SnapshotRequest(), SnapshotResponse.Parser, Bounded());

        var chunks = new List<SnapshotResponse>();
        while (await call.ResponseStream.MoveNextAsync())
            chunks.Add(call.ResponseStream.Current);

        Assert.NotEmpty(chunks);
        Assert.True(chunks.Sum(c => c.Blob.Length) > 0, "the snapshot carried no bytes");
        Assert.Equal(0ul, chunks[^1].RemainingBytes);
        Assert.False(await call.ResponseStream.MoveNextAsync(), "a finished stream must keep answering false");
    }

    [Fact]
    public async Task Duplex_Watch_SeesAPutMadeAfterItWasCreated()
    {
        var key = Key("watch");
        await using var watch = _channel.DuplexStreaming<WatchRequest, WatchResponse>(
            "/etcdserverpb.Watch/Watch", WatchResponse.Parser, Bounded());

        await watch.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = key } });
        Assert.True(await watch.ResponseStream.MoveNextAsync(), "the watch stream ended before confirming creation");
        Assert.True(watch.ResponseStream.Current.Created, $"first response is not 'created': {watch.ResponseStream.Current}");

        await _channel.UnaryAsync("/etcdserverpb.KV/Put",
            new PutRequest { Key = key, Value = ByteString.CopyFromUtf8("seen") }, PutResponse.Parser, Bounded());

        var events = new List<Event>();
        while (events.Count == 0 && await watch.ResponseStream.MoveNextAsync())
            events.AddRange(watch.ResponseStream.Current.Events);
        var put = Assert.Single(events);
        Assert.Equal(Event.Types.EventType.Put, put.Type);
        Assert.Equal("seen", put.Kv.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Duplex_TwoWatchesOnOneStream_EachCreatedInTurn()
    {
        await using var watch = _channel.DuplexStreaming<WatchRequest, WatchResponse>(
            "/etcdserverpb.Watch/Watch", WatchResponse.Parser, Bounded());

        var ids = new List<long>();
        foreach (var name in new[] { "a", "b" })
        {
            await watch.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Key(name) } });
            Assert.True(await watch.ResponseStream.MoveNextAsync());
            Assert.True(watch.ResponseStream.Current.Created, watch.ResponseStream.Current.ToString());
            ids.Add(watch.ResponseStream.Current.WatchId);
        }
        Assert.Equal(2, ids.Distinct().Count());
    }

    [Fact]
    public async Task Duplex_TimeoutPassesOnAnIdleWatch_DeadlineExceeded()
    {
        await using var watch = _channel.DuplexStreaming<WatchRequest, WatchResponse>(
            "/etcdserverpb.Watch/Watch", WatchResponse.Parser,
            new CallOptions(Timeout: TimeSpan.FromMilliseconds(500), CancellationToken: _bound.Token));
        await watch.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Key("idle") } });
        Assert.True(await watch.ResponseStream.MoveNextAsync());

        var ex = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNextAsync());

        // Our own timer or etcd's "context deadline exceeded" (status 2, see ARCHITECTURE.md), whichever is first.
        Assert.True(ex.StatusCode is StatusCode.DeadlineExceeded || ex.Detail.Contains("deadline exceeded"),
            $"expected a deadline error, got {ex.StatusCode}: {ex.Detail}");
    }

    [Fact]
    public async Task Duplex_CallerCancelsAnIdleWatch_OperationCanceled()
    {
        using var cancel = new CancellationTokenSource();
        await using var watch = _channel.DuplexStreaming<WatchRequest, WatchResponse>(
            "/etcdserverpb.Watch/Watch", WatchResponse.Parser, new CallOptions(CancellationToken: cancel.Token));
        await watch.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = Key("cancel") } });
        Assert.True(await watch.ResponseStream.MoveNextAsync());

        var read = watch.ResponseStream.MoveNextAsync();
        cancel.CancelAfter(200);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(Bound));
    }

    private CallOptions Bounded() => new(CancellationToken: _bound.Token);

    private static ByteString Key(string name) => ByteString.CopyFromUtf8($"rpc-tests/{name}/{Guid.NewGuid():N}");
}
