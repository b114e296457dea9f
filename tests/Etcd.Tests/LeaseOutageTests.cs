using System.Diagnostics;
using Lcluster.Etcd.Concurrency;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Etcd.Tests;

/// <summary>Sessions across etcd outages: each test runs its own etcd, since it stops or kills it.</summary>
public sealed class LeaseOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Session_lost_fires_when_etcd_stays_unreachable_until_the_ttl_runs_out()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var client = EtcdClient.Connect([etcd.ClientUrl], new EtcdClientOptions { Log = output.WriteLine });
        await etcd.ExplainFailureAsync(async () =>
        {
            await using var session = await Session.StartAsync(client, TimeSpan.FromSeconds(3));
            var lost = new TaskCompletionSource();
            session.Lost.Register(() => lost.TrySetResult());
            await Task.Delay(TimeSpan.FromSeconds(1)); // at least one renewal on the stream

            await etcd.KillAsync();
            var killed = Stopwatch.StartNew();
            await lost.Task.Within("the session's Lost signal with etcd dead");

            Assert.Contains("could not be renewed before its TTL ran out", session.LostReason);
            // Lost counts from the last renewal sent, at most a third of the TTL before the kill: never right away.
            Assert.True(killed.Elapsed >= TimeSpan.FromSeconds(1), $"Lost fired {killed.Elapsed} after the kill, before the TTL could have run out");
        });
    }

    [Fact]
    public async Task Session_survives_an_etcd_restart_shorter_than_its_ttl_and_keeps_renewing_after()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var client = EtcdClient.Connect([etcd.ClientUrl], new EtcdClientOptions { Log = output.WriteLine });
        await etcd.ExplainFailureAsync(async () =>
        {
            await using var session = await Session.StartAsync(client, TimeSpan.FromSeconds(5));
            await client.PutAsync("/outage/k", "v", lease: session.LeaseId);

            await etcd.StopAsync();
            await etcd.StartAsync();
            // Well past the TTL again after the restart: only a keep-alive that reconnected holds the lease.
            await Task.Delay(TimeSpan.FromSeconds(8));

            Assert.False(session.Lost.IsCancellationRequested, session.LostReason);
            Assert.True((await client.LeaseTimeToLiveAsync(session.LeaseId)).TTL >= 0, "the lease expired although it was kept alive");
            Assert.Single((await client.GetAsync("/outage/k")).Kvs);
        });
    }
}
