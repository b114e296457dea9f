using System.Collections.Concurrent;
using System.Diagnostics;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd.Watching;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Etcd.Tests;

/// <summary>
/// A real three-member etcd whose leader is SIGKILLed while one client writes fenced Txns, watches
/// what they write and keeps a lease alive, on all three endpoints with the leader's first: the
/// client moves to another member and keeps its guarantees.
/// </summary>
public sealed class LeaderLossTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Killing_the_leader_loses_no_fenced_write_repeats_no_watch_event_and_keeps_the_lease()
    {
        await using var cluster = await EtcdCluster.StartOnLoopbackAsync();
        var leader = await cluster.WaitForLeaderAsync(Waits.Long);
        // The leader's endpoint first: every call and stream starts on the member about to die.
        var endpoints = cluster.ClientUrls.Skip(leader).Concat(cluster.ClientUrls.Take(leader)).ToList();
        var log = new ConcurrentQueue<string>();
        await using var client = EtcdClient.Connect(endpoints, new EtcdClientOptions
        {
            RequestTimeout = TimeSpan.FromSeconds(2),
            Log = line => log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {line}"),
        });
        const string Root = "/leader-loss/";
        var start = (await client.PutAsync(Root + "counter", "0")).Header.Revision;

        var lease = await client.GrantLeaseAsync(TimeSpan.FromSeconds(5));
        await client.PutAsync(Root + "owned", "by the lease", lease: lease.ID);
        await using var keepAlive = client.KeepAlive(lease.ID, TimeSpan.FromSeconds(lease.TTL));

        using var stopWatch = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var seen = new List<Api.Event>();
        var watching = Task.Run(async () =>
        {
            await foreach (var batch in client.WatchAsync(Root + "log/", new WatchOptions { Prefix = true, StartRevision = start + 1 }, stopWatch.Token))
            {
                lock (seen)
                    seen.AddRange(batch.Events);
            }
        });

        // Writer: counter n -> n+1 fenced on the counter's value, with log/n+1 in the same Txn. An answer
        // that was lost is settled by reading back, never by sending the Txn again blindly.
        var acknowledged = 0;
        var unknownSettled = 0;
        var killedAt = TimeSpan.Zero;
        var firstWriteAfterKill = TimeSpan.Zero;
        var writesBeforeKill = 0;
        var clock = Stopwatch.StartNew();
        var killing = Task.Run(async () =>
        {
            while (Volatile.Read(ref acknowledged) < 30)
                await Task.Delay(20);
            writesBeforeKill = Volatile.Read(ref acknowledged);
            await cluster.Members[leader].KillAsync();
            killedAt = clock.Elapsed;
            log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} test: SIGKILLed leader {cluster.Members[leader].Name}");
        });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (acknowledged < 200)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {acknowledged} writes in 60 s\n{string.Join("\n", log)}\n{cluster.LogTails()}");
            var n = acknowledged;
            var sentAfterKill = killedAt != TimeSpan.Zero;
            var txn = Txn.If(Cmp.Value(Root + "counter") == n.ToString())
                .Then(Op.Put(Root + "counter", (n + 1).ToString()), Op.Put(Root + $"log/{n + 1:D4}", "x"));
            bool applied;
            try
            {
                var response = await client.TxnAsync(txn);
                Assert.True(response.Succeeded, $"the counter moved under the only writer at {n}");
                applied = true;
            }
            catch (EtcdUnavailableException e)
            {
                log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} test: Txn {n + 1} unsettled: {e.Message}");
                applied = await SettleAsync(client, Root + "counter", n, log);
                unknownSettled++;
            }
            if (applied)
            {
                Volatile.Write(ref acknowledged, n + 1);
                if (sentAfterKill && firstWriteAfterKill == TimeSpan.Zero)
                    firstWriteAfterKill = clock.Elapsed;
            }
        }
        await killing;

        // Every acknowledged write is in etcd exactly once, and the watch saw each exactly once, in order.
        var counter = Assert.Single((await client.GetAsync(Root + "counter")).Kvs).ValueText;
        Assert.Equal(acknowledged.ToString(), counter);
        var logged = (await client.GetAsync(Root + "log/", new GetOptions { Prefix = true })).Kvs.Select(k => k.KeyText).ToList();
        Assert.Equal(Enumerable.Range(1, acknowledged).Select(i => Root + $"log/{i:D4}"), logged);
        var watchDeadline = DateTime.UtcNow + Waits.Long;
        while (true)
        {
            lock (seen)
            {
                if (seen.Count >= acknowledged || DateTime.UtcNow > watchDeadline)
                    break;
            }
            await Task.Delay(50);
        }
        await stopWatch.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching);
        lock (seen)
        {
            Assert.Equal(logged, seen.Select(e => e.Kv.KeyText));
            Assert.True(seen.Zip(seen.Skip(1)).All(pair => pair.First.Kv.ModRevision < pair.Second.Kv.ModRevision), "watch revisions not increasing");
        }

        // The lease outlived the election: never reported lost, and etcd still holds it and its key.
        Assert.False(keepAlive.Lost.IsCancellationRequested, $"lease lost: {keepAlive.LostReason}\n{string.Join("\n", log)}");
        var ttl = await client.LeaseTimeToLiveAsync(lease.ID);
        Assert.True(ttl.TTL > 0, $"lease TTL {ttl.TTL}");
        Assert.Single((await client.GetAsync(Root + "owned")).Kvs);
        var newLeader = await cluster.WaitForLeaderAsync(Waits.Long, other: leader);
        Assert.NotEqual(leader, newLeader);

        output.WriteLine($"leader {cluster.Members[leader].Name} killed after {writesBeforeKill} of {acknowledged} writes; the first Txn sent after the kill was acknowledged " +
                         $"{(firstWriteAfterKill - killedAt).TotalMilliseconds:F0} ms after the kill; {unknownSettled} Txn(s) settled by reading back");
        foreach (var line in log)
            output.WriteLine(line);
    }

    /// <summary>Reads the counter back (on any member that answers) until the Txn that moved it from <paramref name="before"/> is settled.</summary>
    private static async Task<bool> SettleAsync(EtcdClient client, string key, int before, ConcurrentQueue<string> log)
    {
        var deadline = DateTime.UtcNow + Waits.Long;
        while (true)
        {
            try
            {
                var value = int.Parse(Assert.Single((await client.GetAsync(key)).Kvs).ValueText);
                Assert.True(value == before || value == before + 1, $"counter {value} after a Txn from {before}");
                return value == before + 1;
            }
            catch (EtcdUnavailableException e) when (DateTime.UtcNow < deadline)
            {
                log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} test: read-back failed: {e.Message}");
                await Task.Delay(100);
            }
        }
    }
}
