using Google.Protobuf.WellKnownTypes;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.Etcd.Kv;
using Lcluster.TestSupport;
using Lcluster.V1;

namespace Lcluster.Cluster.Tests;

/// <summary>The job store's fenced writes of several jobs at once, against a real etcd (docs/etcd-keys.md, "States").</summary>
public sealed class JobStoreTests
{
    [Fact]
    public async Task Several_jobs_moved_in_one_txn_move_all_together_or_none_when_one_of_them_changed_since_it_was_read()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var client = EtcdClient.Connect([etcd.ClientUrl]);
        var store = new JobStore(client);
        var ids = await store.CreateAsync([.. Enumerable.Range(0, 3).Select(i => Queued($"echo {i}"))], CancellationToken.None);
        var read = await store.GetManyAsync(ids, CancellationToken.None);
        Assert.Equal(3, read.Count);

        // One of them changes after it was read (a RemoveJob, say): the Txn of all three writes nothing.
        var changed = read[1];
        var cancelled = changed.Edit();
        cancelled.CancelRequested = true;
        Assert.True(await store.TryUpdateAsync(changed, cancelled, [], [], CancellationToken.None));
        var stale = read.Select(job => Scheduled(job, "node-a")).ToList();
        Assert.False(await store.TryUpdateAllAsync(stale, CancellationToken.None));
        Assert.All(await store.GetManyAsync(ids, CancellationToken.None), job => Assert.Equal(JobState.Queued, job.State));
        foreach (var id in ids)
            Assert.Null(await store.GetRunAsync("node-a", id, CancellationToken.None));

        // Read again, they all move in one Txn, each with its own run key, and its index keys move with it.
        var fresh = await store.GetManyAsync(ids, CancellationToken.None);
        var revision = (await client.GetAsync(Keys.JobsChanged)).Header.Revision;
        Assert.True(await store.TryUpdateAllAsync([.. fresh.Select(job => Scheduled(job, "node-a"))], CancellationToken.None));
        var after = await store.GetManyAsync(ids, CancellationToken.None);
        Assert.All(after, job => Assert.Equal(JobState.Scheduled, job.State));
        Assert.Single(after.Select(job => job.ModRevision).Distinct());
        Assert.Equal(revision + 1, after[0].ModRevision);
        foreach (var id in ids)
        {
            Assert.NotNull(await store.GetRunAsync("node-a", id, CancellationToken.None));
            Assert.Equal(0, (await client.GetAsync(Keys.QueueEntry(id))).Count);
        }
        Assert.Equal(3, (await client.GetAsync(JobIndex.StatePrefix(JobState.Scheduled), new Lcluster.Etcd.Kv.GetOptions { Prefix = true, CountOnly = true })).Count);
        Assert.Equal(0, (await client.GetAsync(JobIndex.StatePrefix(JobState.Queued), new Lcluster.Etcd.Kv.GetOptions { Prefix = true, CountOnly = true })).Count);
    }

    private static JobStore.Update Scheduled(StoredJob job, string node) =>
        new(job, Transitions.Scheduled(job, node, incarnation: 7),
            [Cmp.CreateRevision(Keys.QueueEntry(job.Id)) > 0],
            [Op.Delete(Keys.QueueEntry(job.Id)), Op.Put(Keys.Run(node, job.Id), Google.Protobuf.MessageExtensions.ToByteString(new Assignment { NodeIncarnation = 7 }))]);

    private static NewJob Queued(string command)
    {
        var job = new Job
        {
            Id = Guid.NewGuid().ToString(), Command = command, State = JobState.Queued, Owner = "root", Reason = "waiting to be placed",
            SubmittedAt = Timestamp.FromDateTime(DateTime.UtcNow), Limits = new Limits { MemoryBytes = 64 << 20, Cpus = 1, Pids = 64 },
        };
        return new NewJob(new JobRecord { Job = job }, new JobSpec { Command = command }, Google.Protobuf.ByteString.Empty, new QueueEntry { Limits = job.Limits });
    }
}
