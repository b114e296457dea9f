using Google.Protobuf;
using Lcluster.Etcd.Kv;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Etcd.Tests;

/// <summary>
/// etcd's space quota full: it refuses every write, the whole cluster's, until an operator clears its alarm. To the
/// client that is an outage, which its callers wait out as they wait out an etcd they cannot reach, not a refusal of
/// what they asked. Runs its own etcd, with a tiny quota.
/// </summary>
public sealed class SpaceQuotaTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Writes_refused_for_space_are_an_outage_of_unknown_outcome_and_reads_go_on()
    {
        await using var etcd = await EtcdServer.StartNewAsync(new EtcdServerOptions { QuotaBytes = 4L << 20 });
        await using var client = EtcdClient.Connect([etcd.ClientUrl], new EtcdClientOptions { Log = output.WriteLine });
        await etcd.ExplainFailureAsync(async () =>
        {
            await client.PutAsync("/space/first", "kept");
            var value = ByteString.CopyFrom(new byte[256 << 10]);
            EtcdUnavailableException? full = null;
            for (var i = 0; full is null; i++)
            {
                Assert.True(i < 64, "64 writes of 256 KiB did not fill a quota of 4 MiB");
                try
                {
                    await client.PutAsync($"/space/{i}", value);
                }
                catch (EtcdUnavailableException e)
                {
                    full = e;
                }
            }

            // Every write from now on, a Txn's and a lease's too, until the alarm is cleared.
            var txn = await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.TxnAsync(Txn.If().Then(Op.Put("/space/txn", "v"))));
            var lease = await Assert.ThrowsAsync<EtcdUnavailableException>(() => client.GrantLeaseAsync(TimeSpan.FromSeconds(5)));
            var read = await client.TxnAsync(Txn.If().Then(Op.Get("/space/first")));

            Assert.Contains("database space exceeded", full.Message);
            // etcd applies the write that fills the quota and refuses it all the same: a write so refused is unknown.
            Assert.Contains("may or may not have been applied", full.Message);
            Assert.Contains("may or may not have been applied", txn.Message);
            Assert.Contains("database space exceeded", lease.Message);
            Assert.Equal("kept", Assert.Single(read.Responses[0].ResponseRange.Kvs).ValueText);
        });
    }
}
