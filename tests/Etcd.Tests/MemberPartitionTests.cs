using System.Collections.Concurrent;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Etcd.Tests;

/// <summary>
/// A member of a three-member etcd cut off from its peers (its clients still reach it): it stays up, accepts
/// streams, and answers nothing new. A client whose watch and keep-alive sit on it moves to the majority.
/// </summary>
public sealed class MemberPartitionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_watch_and_a_keep_alive_on_a_member_cut_from_its_peers_move_to_the_majority_and_miss_nothing()
    {
        await using var lab = await NetworkLab.CreateAsync(1, etcdMembers: 3);
        await using var cluster = await EtcdCluster.StartInLabAsync(lab);
        using var dialer = new NamespaceDialer(lab.Nodes[0].Namespace);
        var leader = await cluster.WaitForLeaderAsync(Waits.Long);
        var cut = (leader + 1) % 3;
        var log = new ConcurrentQueue<string>();
        EtcdClient Client(IEnumerable<int> members) => EtcdClient.Connect(members.Select(m => cluster.ClientUrls[m]).ToList(), new EtcdClientOptions
        {
            RequestTimeout = TimeSpan.FromSeconds(2),
            ConnectCallback = dialer.ConnectAsync,
            Log = line => log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {line}"),
        });
        // The watcher prefers the member about to be cut; the writer knows only the other two.
        await using var watcher = Client([cut, (cut + 1) % 3, (cut + 2) % 3]);
        await using var writer = Client([(cut + 1) % 3, (cut + 2) % 3]);
        const string p = "/member-partition/";

        var start = (await watcher.PutAsync(p + "k0", "before")).Header.Revision;
        var lease = await watcher.GrantLeaseAsync(TimeSpan.FromSeconds(5));
        await using var keepAlive = watcher.KeepAlive(lease.ID, TimeSpan.FromSeconds(lease.TTL));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new ConcurrentQueue<string>();
        var watching = Task.Run(async () =>
        {
            await foreach (var batch in watcher.WatchAsync(p, new WatchOptions { Prefix = true, StartRevision = start }, stop.Token))
                foreach (var e in batch.Events)
                    seen.Enqueue(e.Kv.KeyText[p.Length..]);
        });
        await WaitForAsync(() => seen.Count == 1, "the first event", log);

        await lab.CutPeersAsync(lab.EtcdMembers[cut]);
        log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} test: cut {cluster.Members[cut].Name} from its peers");
        for (var i = 1; i <= 5; i++)
            await writer.PutAsync(p + $"k{i}", "after");
        await WaitForAsync(() => seen.Count >= 6, "the events written by the majority", log, TimeSpan.FromSeconds(30));
        // Past the lease's TTL since the cut: still alive, renewed through the majority.
        await Task.Delay(TimeSpan.FromSeconds(lease.TTL + 1));

        Assert.Equal(["k0", "k1", "k2", "k3", "k4", "k5"], seen);
        Assert.False(keepAlive.Lost.IsCancellationRequested, $"lease lost: {keepAlive.LostReason}\n{string.Join("\n", log)}");
        Assert.True((await writer.LeaseTimeToLiveAsync(lease.ID)).TTL > 0);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching);
        foreach (var line in log)
            output.WriteLine(line);
    }

    private static async Task WaitForAsync(Func<bool> condition, string what, ConcurrentQueue<string> log, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? Waits.Long);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{what} did not arrive within {(within ?? Waits.Long).TotalSeconds} s\n{string.Join("\n", log)}");
            await Task.Delay(50);
        }
    }
}
