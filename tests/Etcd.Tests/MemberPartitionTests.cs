using System.Collections.Concurrent;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd.Watching;
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
        await using var lab = await PartitionLab.StartAsync();
        var (cut, log) = (lab.Cut, lab.Log);
        // The watcher prefers the member about to be cut; the writer knows only the other two.
        await using var watcher = lab.Client([cut, (cut + 1) % 3, (cut + 2) % 3], TimeSpan.FromSeconds(2));
        await using var writer = lab.Client([(cut + 1) % 3, (cut + 2) % 3], TimeSpan.FromSeconds(2));
        const string Root = "/member-partition/";

        var start = (await watcher.PutAsync(Root + "k0", "before")).Header.Revision;
        var lease = await watcher.GrantLeaseAsync(TimeSpan.FromSeconds(5));
        await using var keepAlive = watcher.KeepAlive(lease.ID, TimeSpan.FromSeconds(lease.TTL));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new ConcurrentQueue<string>();
        var watching = Task.Run(async () =>
        {
            await foreach (var batch in watcher.WatchAsync(Root, new WatchOptions { Prefix = true, StartRevision = start }, stop.Token))
                foreach (var e in batch.Events)
                    seen.Enqueue(e.Kv.KeyText[Root.Length..]);
        });
        await WaitForAsync(() => seen.Count == 1, "the first event", log);

        await lab.CutAsync();
        for (var i = 1; i <= 5; i++)
            await writer.PutAsync(Root + $"k{i}", "after");
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

    [Fact]
    public async Task A_two_second_lease_kept_alive_on_a_member_cut_from_its_peers_is_renewed_through_the_majority_in_time()
    {
        await using var lab = await PartitionLab.StartAsync();
        var (cut, log) = (lab.Cut, lab.Log);
        await using var client = lab.Client([cut, (cut + 1) % 3, (cut + 2) % 3], TimeSpan.FromSeconds(5));
        // The shortest lease this etcd grants (1.5 election timeouts, whole seconds), as daemons with --lease-ttl=2s hold.
        var lease = await client.GrantLeaseAsync(TimeSpan.FromSeconds(2));
        await using var keepAlive = client.KeepAlive(lease.ID, TimeSpan.FromSeconds(lease.TTL));
        // Cut right after a renewal went through the member about to be cut: the next one will find it silent.
        var renewedBy = DateTime.UtcNow + Waits.Long;
        while (keepAlive.SinceLastRenewal > TimeSpan.FromSeconds(0.2))
        {
            Assert.True(DateTime.UtcNow < renewedBy, $"no renewal\n{string.Join("\n", log)}");
            await Task.Delay(20);
        }

        await lab.CutAsync();
        // Several TTLs after the cut, the lease must never have run out, in the client's view or in etcd's.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(8);
        while (DateTime.UtcNow < until && !keepAlive.Lost.IsCancellationRequested)
            await Task.Delay(100);

        Assert.False(keepAlive.Lost.IsCancellationRequested, $"lease lost: {keepAlive.LostReason}\n{string.Join("\n", log)}");
        Assert.True((await client.LeaseTimeToLiveAsync(lease.ID)).TTL > 0, string.Join("\n", log));
        foreach (var line in log)
            output.WriteLine(line);
    }

    [Fact]
    public async Task Reads_and_fenced_writes_sent_to_a_member_cut_from_its_peers_move_to_the_majority_without_waiting_out_their_deadline()
    {
        await using var lab = await PartitionLab.StartAsync();
        var (cut, log) = (lab.Cut, lab.Log);
        var timeout = TimeSpan.FromSeconds(5);
        // The member about to be cut first: the client prefers it, having had its answers.
        await using var client = lab.Client([cut, (cut + 1) % 3, (cut + 2) % 3], timeout);
        const string Root = "/member-partition-unary/";
        await client.PutAsync(Root + "before", "x");

        await lab.CutAsync();
        // Two election timeouts: the cut member has given up on its leader.
        await Task.Delay(TimeSpan.FromSeconds(2));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var read = await client.GetAsync(Root + "before");
        var readTook = clock.Elapsed;
        clock.Restart();
        var claim = await client.TxnAsync(Txn.If(Cmp.CreateRevision(Root + "claim") == 0).Then(Op.Put(Root + "claim", "mine")));
        var writeTook = clock.Elapsed;

        var report = $"read {readTook.TotalSeconds:F2} s, write {writeTook.TotalSeconds:F2} s\n{string.Join("\n", log)}";
        Assert.Single(read.Kvs);
        Assert.True(claim.Succeeded, report);
        // Held by the cut member, each would have taken the whole request timeout and failed.
        Assert.True(readTook < timeout / 2, report);
        Assert.True(writeTook < timeout / 2, report);
        // Applied once, through the majority.
        var written = await client.GetAsync(Root + "claim");
        Assert.Equal(written.Kvs[0].CreateRevision, written.Kvs[0].ModRevision);
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

    /// <summary>
    /// A three-member etcd in network namespaces, a node's namespace to dial it from, and the member to cut from its
    /// peers: the one after the leader, a follower.
    /// </summary>
    private sealed class PartitionLab : IAsyncDisposable
    {
        private readonly NetworkLab _lab;
        private readonly EtcdCluster _cluster;
        private readonly NamespaceDialer _dialer;

        private PartitionLab(NetworkLab lab, EtcdCluster cluster, int cut)
        {
            (_lab, _cluster, Cut) = (lab, cluster, cut);
            _dialer = new NamespaceDialer(lab.Nodes[0].Namespace);
        }

        public int Cut { get; }

        public ConcurrentQueue<string> Log { get; } = new();

        public static async Task<PartitionLab> StartAsync()
        {
            var lab = await NetworkLab.CreateAsync(1, etcdMembers: 3);
            try
            {
                var cluster = await EtcdCluster.StartInLabAsync(lab);
                try
                {
                    var leader = await cluster.WaitForLeaderAsync(Waits.Long);
                    return new PartitionLab(lab, cluster, (leader + 1) % 3);
                }
                catch
                {
                    await cluster.DisposeAsync();
                    throw;
                }
            }
            catch
            {
                await lab.DisposeAsync();
                throw;
            }
        }

        /// <summary>A client of the given members, in that order of preference, logging into <see cref="Log"/>.</summary>
        public EtcdClient Client(IEnumerable<int> members, TimeSpan requestTimeout) =>
            EtcdClient.Connect(members.Select(m => _cluster.ClientUrls[m]).ToList(), new EtcdClientOptions
            {
                RequestTimeout = requestTimeout,
                ConnectCallback = _dialer.ConnectAsync,
                Log = line => Log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {line}"),
            });

        public async Task CutAsync()
        {
            await _lab.CutPeersAsync(_lab.EtcdMembers[Cut]);
            Log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} test: cut {_cluster.Members[Cut].Name} from its peers");
        }

        public async ValueTask DisposeAsync()
        {
            _dialer.Dispose();
            await _cluster.DisposeAsync();
            await _lab.DisposeAsync();
        }
    }
}
