using Lcluster.Etcd.Kv;
using Xunit.Abstractions;

namespace Lcluster.Etcd.Tests;

/// <summary>
/// A write whose answer is lost on the way back: the client must say it may or may
/// not have been applied, and must never send it again on its own. A client that
/// retries it (as a channel with a retry policy does) reports a claim that applied
/// as lost, because the second try finds the key already taken.
/// </summary>
[Collection(SharedEtcdCollection.Name)]
public sealed class LostAnswerTests(SharedEtcd etcd, ITestOutputHelper output)
{
    private readonly string _p = SharedEtcd.UniquePrefix(nameof(LostAnswerTests));

    [Fact]
    public async Task A_claim_whose_answer_is_dropped_is_reported_unknown_never_resent_and_settled_by_reading_back()
    {
        await using var proxy = new TcpProxy("127.0.0.1", new Uri(etcd.Server.ClientUrl).Port);
        var options = new EtcdClientOptions { RequestTimeout = TimeSpan.FromSeconds(1), Log = output.WriteLine };
        // The direct endpoint second: a client that re-sent the claim after the timeout would find it there.
        await using var client = EtcdClient.Connect([proxy.Url, etcd.Server.ClientUrl], options);
        var job = _p + "job";
        // The call path compiled by a client with time to spare, so the 1 s timeout below measures only the dropped answer.
        await using (var warm = EtcdClient.Connect([proxy.Url], new EtcdClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) }))
            await warm.GetAsync(_p + "warm");
        await client.PutAsync(_p + "warm", "this client's connection goes through the proxy");

        proxy.DropAnswers();
        var claim = Txn.If(Cmp.CreateRevision(job) == 0).Then(Op.Put(job, "node-a"));
        var lost = await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.TxnAsync(claim)).Within("the claim to time out");

        Assert.Contains("may or may not have been applied", lost.Message);
        Assert.Contains(proxy.Url, lost.Message);
        var after = Assert.Single((await etcd.Client.GetAsync(job)).Kvs);
        Assert.Equal("node-a", after.ValueText);
        Assert.Equal(1, after.Version); // written once: the client did not send the claim again
        // Settling by reading back names the claim as ours; a blind second try would have said it failed.
        var retried = await etcd.Client.TxnAsync(claim);
        Assert.False(retried.Succeeded);
    }
}
