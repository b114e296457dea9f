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
        Assert.Null(await store.TryUpdateAllAsync(stale, CancellationToken.None));
        Assert.All(await store.GetManyAsync(ids, CancellationToken.None), job => Assert.Equal(JobState.Queued, job.State));
        foreach (var id in ids)
            Assert.Null(await store.GetRunAsync("node-a", id, CancellationToken.None));

        // Read again, they all move in one Txn, each with its own run key, and its index keys move with it.
        var fresh = await store.GetManyAsync(ids, CancellationToken.None);
        var revision = (await client.GetAsync(Keys.JobsChanged)).Header.Revision;
        Assert.NotNull(await store.TryUpdateAllAsync([.. fresh.Select(job => Scheduled(job, "node-a"))], CancellationToken.None));
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

    private static JobStore.Update Scheduled(StoredJob job, string node) => JobStore.Placement(job, node, incarnation: 7);

    [Fact]
    public async Task A_node_marks_a_job_running_from_the_record_its_run_key_carries_and_ends_it_without_reading_it_but_not_once_it_changed()
    {
        await using var etcd = await EtcdServer.StartNewAsync();
        await using var client = EtcdClient.Connect([etcd.ClientUrl]);
        var store = new JobStore(client);
        var ct = CancellationToken.None;
        var ids = await store.CreateAsync([Queued("echo kept"), Queued("echo cancelled")], ct);
        Assert.NotNull(await store.TryUpdateAllAsync([.. (await store.GetManyAsync(ids, ct)).Select(job => Scheduled(job, "node-a"))], ct));
        var guard = Cmp.CreateRevision(Keys.Jobs + "no-such-key") == 0; // a node's lease guard, here one that holds

        // The run key carries the record exactly as it was at the key's create revision.
        var run = await store.GetRunAsync("node-a", ids[0], ct);
        var asPlaced = StoredJob.AsPlaced(run!.Assignment, run.CreateRevision);
        var scheduled = await store.GetAsync(ids[0], ct);
        Assert.Equal(scheduled!.Record, asPlaced!.Record);
        Assert.Equal(scheduled.ModRevision, asPlaced.ModRevision);

        // Not marked for another placement of the job than the run key's.
        Assert.Null(await store.TryMarkRunningAsync(asPlaced, Transitions.Running(asPlaced, DateTimeOffset.UtcNow), guard, run.CreateRevision - 1, ct));

        // Marked running from it, the mark reads back the record as committed, with its revisions, and the spec.
        var marked = await store.TryMarkRunningAsync(asPlaced, Transitions.Running(asPlaced, DateTimeOffset.UtcNow), guard, run.CreateRevision, ct);
        Assert.NotNull(marked);
        // And it rewrote the run key as started, for the prime's pacing: the same placement, without the record's copy.
        var started = await store.GetRunAsync("node-a", ids[0], ct);
        Assert.Equal(new Assignment { NodeIncarnation = 7, MemoryBytes = 64 << 20, Started = true }, started!.Assignment);
        Assert.Equal(run.CreateRevision, started.CreateRevision);
        Assert.False(run.Assignment.Started);
        var (running, what) = marked.Value;
        Assert.Equal("echo kept", what.Spec.Command);
        var read = await store.GetAsync(ids[0], ct);
        Assert.Equal(read, running);
        Assert.Equal(JobState.Running, running.State);
        Assert.Equal(scheduled.CreateRevision, running.CreateRevision);

        // The end is fenced on that record: it commits while nothing else wrote the record, and not after a change.
        var outcome = new JobOutcome(0, 0, false, false, false, null, 0, 0, 0, 0);
        var cancelRequested = running.Edit();
        cancelRequested.CancelRequested = true;
        Assert.True(await store.TryUpdateAsync(running, cancelRequested, [], [], ct));
        Assert.False(await store.TryUpdateAsync(running, Settlement.Outcome(running, outcome, [], [], DateTimeOffset.UtcNow).Next, [guard], [], ct));
        var now = await store.GetAsync(ids[0], ct);
        var ended = Settlement.Outcome(now!, outcome, [], [], DateTimeOffset.UtcNow);
        Assert.True(await store.TryUpdateAsync(now!, ended.Next, [guard], ended.Ops, ct));
        Assert.Equal(JobState.Succeeded, (await store.GetAsync(ids[0], ct))!.State); // it ended before a kill could cancel it

        // A record changed after its placement (its owner asked to cancel it): the run key carries no copy any more,
        // and a copy read before the change is refused by the mark.
        var other = await store.GetAsync(ids[1], ct);
        var otherRun = await store.GetRunAsync("node-a", ids[1], ct);
        Assert.True(await store.TryRequestCancelAsync(other!, otherRun!, ct));
        Assert.Null(StoredJob.AsPlaced((await store.GetRunAsync("node-a", ids[1], ct))!.Assignment, otherRun!.CreateRevision));
        var stale = StoredJob.AsPlaced(otherRun.Assignment, otherRun.CreateRevision)!; // as read before the cancel
        Assert.Null(await store.TryMarkRunningAsync(stale, Transitions.Running(stale, DateTimeOffset.UtcNow), guard, otherRun.CreateRevision, ct));
        Assert.False((await store.GetRunAsync("node-a", ids[1], ct))!.Assignment.Started);
        var unchanged = await store.GetAsync(ids[1], ct);
        Assert.Equal(JobState.Scheduled, unchanged!.State);
        Assert.True(unchanged.Record.CancelRequested);

        // A run key written without the record (by a prime before it carried one) gives none: the node reads it.
        Assert.Null(StoredJob.AsPlaced(new Assignment { NodeIncarnation = 7 }, otherRun.CreateRevision));

        // No placement over a run key that is there already: the key's create revision would not be the placement's.
        var third = (await store.CreateAsync([Queued("echo third")], ct))[0];
        await client.PutAsync(Keys.Run("node-a", third), "left over", cancellationToken: ct);
        Assert.Null(await store.TryUpdateAllAsync([Scheduled((await store.GetAsync(third, ct))!, "node-a")], ct));
        await client.DeleteAsync(Keys.Run("node-a", third), cancellationToken: ct);
        Assert.NotNull(await store.TryUpdateAllAsync([Scheduled((await store.GetAsync(third, ct))!, "node-a")], ct));
    }

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
