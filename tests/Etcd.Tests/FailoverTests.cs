using System.Net.Sockets;
using System.Net;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd.Watching;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Etcd.Tests;

/// <summary>Several endpoints, dead or silent ones among them: calls move on, or fail clearly instead of hanging.</summary>
[Collection(SharedEtcdCollection.Name)]
public sealed class FailoverTests(SharedEtcd etcd, ITestOutputHelper output)
{
    private readonly string _p = SharedEtcd.UniquePrefix(nameof(FailoverTests));

    [Fact]
    public async Task Calls_and_watches_go_to_the_second_endpoint_when_the_first_is_dead()
    {
        var dead = DeadEndpoint();
        await using var client = EtcdClient.Connect([dead, etcd.Server.ClientUrl], new EtcdClientOptions { Log = output.WriteLine });

        var put = await client.PutAsync(_p + "k", "v");
        var got = await client.GetAsync(_p + "k");
        using var stop = new CancellationTokenSource(Waits.Long);
        var watched = await WatchTests.Collect(client.WatchAsync(_p + "k", new WatchOptions { StartRevision = put.Header.Revision }, stop.Token), 1)
            .Within("a watch event through the second endpoint");

        Assert.Equal("v", Assert.Single(got.Kvs).ValueText);
        Assert.Equal("v", Assert.Single(watched).Kv.ValueText);
        Assert.Equal([dead, etcd.Server.ClientUrl], client.Endpoints);
    }

    [Fact]
    public async Task A_dead_endpoint_fails_with_unavailable_naming_the_endpoint_and_the_cause()
    {
        var dead = DeadEndpoint();
        await using var client = EtcdClient.Connect([dead]);

        var ex = await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.GetAsync(_p + "k"));

        Assert.StartsWith($"cannot reach etcd at {dead}: connection refused", ex.Message);
    }

    [Fact]
    public async Task All_endpoints_dead_fails_with_unavailable_naming_each()
    {
        string first = DeadEndpoint(), second = DeadEndpoint();
        await using var client = EtcdClient.Connect([first, second]);

        var ex = await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.PutAsync(_p + "k", "v"));

        Assert.Contains($"{first} (connection refused)", ex.Message);
        Assert.Contains($"{second} (connection refused)", ex.Message);
    }

    [Fact]
    public async Task A_silent_endpoint_times_out_then_a_read_moves_on_but_a_write_is_not_sent_twice()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0); // accepts connections, never answers
        silent.Start();
        var silentUrl = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";
        var options = new EtcdClientOptions { RequestTimeout = TimeSpan.FromSeconds(1), Log = output.WriteLine };
        await using var alone = EtcdClient.Connect([silentUrl], options);
        await using var client = EtcdClient.Connect([silentUrl, etcd.Server.ClientUrl], options);
        await etcd.Server.PutThroughEtcdctl(_p + "k", "v");

        var timedOut = await Assert.ThrowsAsync<EtcdUnavailableException>(() => alone.GetAsync(_p + "k")).Within("the timeout");
        var read = await client.GetAsync(_p + "k").Within("a read that moves on");
        await using var writer = EtcdClient.Connect([silentUrl, etcd.Server.ClientUrl], options);
        var write = await Assert.ThrowsAsync<EtcdUnavailableException>(() => writer.PutAsync(_p + "w", "once")).Within("a write that times out");

        Assert.Contains("no answer within 1 s", timedOut.Message);
        Assert.Equal("v", Assert.Single(read.Kvs).ValueText);
        Assert.Contains("may or may not have been applied", write.Message);
        Assert.Empty((await client.GetAsync(_p + "w")).Kvs); // not sent on to the second endpoint
    }

    [Fact]
    public async Task A_txn_that_only_reads_moves_on_from_a_silent_endpoint_as_a_read_does_but_one_that_writes_is_not_sent_twice()
    {
        // The daemon reads several keys at one revision in a Txn of Gets (a job with its spec, a page of records):
        // a read all the same, which a slow member must not turn into "may or may not have been applied".
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var silentUrl = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";
        var options = new EtcdClientOptions { RequestTimeout = TimeSpan.FromSeconds(1), Log = output.WriteLine };
        await using var reader = EtcdClient.Connect([silentUrl, etcd.Server.ClientUrl], options);
        await using var writer = EtcdClient.Connect([silentUrl, etcd.Server.ClientUrl], options);
        await etcd.Server.PutThroughEtcdctl(_p + "k", "v");

        var read = await reader.TxnAsync(Txn.If().Then(Op.Get(_p + "k"), Op.Txn(Txn.If(Cmp.Version(_p + "k") > 0).Then(Op.Get(_p + "k")))))
            .Within("a read-only Txn that moves on");
        // A write nested one level down is a write all the same.
        var write = await Assert.ThrowsAsync<EtcdUnavailableException>(() =>
            writer.TxnAsync(Txn.If().Then(Op.Get(_p + "k"), Op.Txn(Txn.If().Then(Op.Put(_p + "w", "once")))))).Within("a writing Txn that times out");

        Assert.Equal("v", Assert.Single(read.Responses[0].ResponseRange.Kvs).ValueText);
        Assert.Equal("v", Assert.Single(read.Responses[1].ResponseTxn.Responses[0].ResponseRange.Kvs).ValueText);
        Assert.Contains("may or may not have been applied", write.Message);
        Assert.Empty((await reader.GetAsync(_p + "w")).Kvs); // not sent on to the second endpoint
    }

    [Fact]
    public void Bad_endpoints_are_refused_up_front()
    {
        Assert.Throws<ArgumentException>(() => EtcdClient.Connect([]));
        var ex = Assert.Throws<ArgumentException>(() => EtcdClient.Connect(["ftp://host:1"]));
        Assert.Contains("ftp://host:1", ex.Message);
    }

    private static string DeadEndpoint()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
    }
}

internal static class EtcdctlWrites
{
    public static Task<string> PutThroughEtcdctl(this EtcdServer server, string key, string value) =>
        server.EtcdctlAsync("put", key, value);
}
