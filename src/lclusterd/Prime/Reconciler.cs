using Google.Protobuf;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.Etcd.Api;
using Lcluster.V1;

namespace Lcluster.Daemon.Prime;

/// <summary>
/// The prime's work, as rounds over a consistent snapshot of etcd (members,
/// run keys, queue) read in one Txn: settle orphans of dead nodes, place
/// queued jobs, mark the unplaceable, delete expired jobs. A round starts
/// when a watched prefix changes or a second passes; it needs no memory of
/// earlier rounds beyond timers, so a new prime starts right where the old
/// one stopped.
/// </summary>
internal sealed class Reconciler(NodeContext node, Compare fence)
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _dirty = new(0, 1);
    private readonly Dictionary<string, DateTimeOffset> _orphanSince = new();
    private readonly Dictionary<string, string> _reasons = new();
    private DateTimeOffset _nextRetention = DateTimeOffset.MinValue;

    /// <summary>How often expired jobs are looked for: every 30 s, more often when the retention itself is short.</summary>
    private TimeSpan RetentionEvery => TimeSpan.FromSeconds(Math.Clamp(node.Options.Retention.TotalSeconds / 4, 1, 30));

    /// <summary>How long a running job of a dead node waits before another attempt: until its node has surely killed it.</summary>
    private TimeSpan RetryDelay => node.Options.FenceTimeout - node.Options.LeaseTtl + TimeSpan.FromSeconds(1);

    public async Task RunAsync(CancellationToken ct)
    {
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watches = new[] { Keys.Queue, Keys.Members, Keys.Nodes }.Select(p => WatchAsync(p, watching.Token)).ToList();
        var outage = false;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await RoundAsync(ct);
                    if (outage)
                        node.Log.Info($"node {node.Name}: prime back at work, etcd answers again");
                    outage = false;
                }
                catch (EtcdUnavailableException e)
                {
                    // Nothing can be decided without etcd; leadership stands or falls with the lease.
                    if (!outage)
                        node.Log.Warn($"node {node.Name}: prime paused, etcd unreachable ({e.Message})");
                    outage = true;
                }
                await _dirty.WaitAsync(Tick, ct);
            }
        }
        finally
        {
            watching.Cancel();
            await Task.WhenAll(watches).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private void MarkDirty()
    {
        try
        {
            _dirty.Release();
        }
        catch (SemaphoreFullException)
        {
            // A round is already due.
        }
    }

    private async Task WatchAsync(string prefix, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await foreach (var _ in node.Store.Etcd.WatchAsync(prefix, new WatchOptions { Prefix = true }, ct))
                    MarkDirty();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (EtcdException)
            {
                // Compacted or unreachable: the next round re-reads everything anyway.
                MarkDirty();
                await Task.Delay(Tick, ct).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task RoundAsync(CancellationToken ct)
    {
        var snapshot = await node.Store.Etcd.TxnAsync(Txn.If().Then(
            Op.Get(Keys.Members, new GetOptions { Prefix = true }),
            Op.Get(Keys.Nodes, new GetOptions { Prefix = true }),
            Op.Get(Keys.Queue, new GetOptions { Prefix = true })), ct);
        var members = snapshot.Responses[0].ResponseRange.Kvs
            .Select(kv => (Kv: kv, Node: NodeRecord.Parser.ParseFrom(kv.Value))).ToDictionary(m => m.Node.Name);
        var runs = JobStore.ParseRuns(snapshot.Responses[1].ResponseRange.Kvs);
        var queue = snapshot.Responses[2].ResponseRange.Kvs;

        var orphans = runs.Where(r => !members.TryGetValue(r.Node, out var m) || m.Node.Incarnation != r.Assignment.NodeIncarnation).ToList();
        foreach (var gone in _orphanSince.Keys.Except(orphans.Select(o => o.Id)).ToList())
            _orphanSince.Remove(gone);
        if (orphans.Count > 0)
            await SettleOrphansAsync(orphans, members.Keys.ToHashSet(), ct);

        var live = runs.Where(r => !orphans.Contains(r)).ToList();
        var capacity = members.Values.Select(m => new NodeCapacity(
            m.Node.Name, m.Node.Slots,
            live.Count(r => r.Node == m.Node.Name),
            m.Node.MemoryBytes,
            live.Where(r => r.Node == m.Node.Name).Sum(r => r.Assignment.MemoryBytes),
            JobLimits.From(m.Node.MaxLimits))).ToList();
        var queued = queue.Select(kv =>
        {
            var entry = QueueEntry.Parser.ParseFrom(kv.Value);
            return new QueuedJob(Keys.Last(kv.KeyText), entry.Priority, entry.Sequence != 0 ? entry.Sequence : kv.CreateRevision, JobLimits.From(entry.Limits));
        }).ToList();
        var placement = Placement.Place(queued, capacity);
        await PlaceAsync(placement.Assignments, members.ToDictionary(m => m.Key, m => m.Value.Node), ct);
        await MarkUnfittableAsync(placement.Unfittable, queued, ct);

        if (DateTimeOffset.UtcNow >= _nextRetention)
        {
            _nextRetention = DateTimeOffset.UtcNow + RetentionEvery;
            await Retention.SweepAsync(node, fence, ct);
        }
    }

    private async Task SettleOrphansAsync(List<(string Node, string Id, Store.Assignment Assignment, long ModRevision)> orphans, HashSet<string> liveNodes, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var jobs = (await node.Store.GetManyAsync(orphans.Select(o => o.Id).ToList(), ct)).ToDictionary(j => j.Id);
        foreach (var orphan in orphans)
        {
            var since = _orphanSince.TryGetValue(orphan.Id, out var first) ? first : _orphanSince[orphan.Id] = now;
            var why = liveNodes.Contains(orphan.Node) ? $"node {orphan.Node} restarted" : $"node {orphan.Node} stopped responding";
            if (!jobs.TryGetValue(orphan.Id, out var job) || job.Job.Node != orphan.Node || StoredJob.IsFinished(job.State))
            {
                // The record moved on without this run key: drop the key.
                await node.Store.Etcd.TxnAsync(Txn.If(fence, Cmp.ModRevision(Keys.Run(orphan.Node, orphan.Id)) == orphan.ModRevision)
                    .Then(Op.Delete(Keys.Run(orphan.Node, orphan.Id))), ct);
                continue;
            }
            if (job.State == JobState.Running && !job.Record.CancelRequested && Transitions.MayRetry(job) && now - since < RetryDelay)
                continue; // Its node may still be running it, cut off: wait until it has surely killed it.
            var change = Settlement.Orphan(job, why, now);
            if (await node.Store.TryUpdateAsync(job, change.Next, [fence], change.Ops, ct))
                node.Log.Info($"job {job.Id} {Settle.Name(change.State)}: {change.Next.Job.Reason}");
        }
    }

    private async Task PlaceAsync(IReadOnlyList<JobPlacement> assignments, Dictionary<string, NodeRecord> members, CancellationToken ct)
    {
        if (assignments.Count == 0)
            return;
        var jobs = (await node.Store.GetManyAsync(assignments.Select(a => a.JobId).ToList(), ct)).ToDictionary(j => j.Id);
        await Task.WhenAll(assignments.Select(async a =>
        {
            if (!jobs.TryGetValue(a.JobId, out var job) || job.State != JobState.Queued)
            {
                // A queue entry without a queued record (a crash between writes cannot cause it; be safe anyway).
                if (job is null || StoredJob.IsFinished(job.State))
                    await node.Store.Etcd.TxnAsync(Txn.If(fence).Then(Op.Delete(Keys.QueueEntry(a.JobId))), ct);
                return;
            }
            var target = members[a.Node];
            var scheduled = Transitions.Scheduled(job, a.Node, target.Incarnation);
            var run = new Store.Assignment { NodeIncarnation = target.Incarnation, MemoryBytes = job.Job.Limits?.MemoryBytes ?? 0 };
            var placed = await node.Store.TryUpdateAsync(job, scheduled,
                [fence, Cmp.Lease(Keys.Member(a.Node)) == target.Incarnation, Cmp.CreateRevision(Keys.QueueEntry(a.JobId)) > 0],
                [Op.Delete(Keys.QueueEntry(a.JobId)), Op.Put(Keys.Run(a.Node, a.JobId), run.ToByteString())], ct);
            if (placed)
            {
                _reasons.Remove(a.JobId);
                node.Log.Info($"job {a.JobId} scheduled on {a.Node}");
            }
        }));
    }

    private async Task MarkUnfittableAsync(IReadOnlyDictionary<string, string> unfittable, List<QueuedJob> queued, CancellationToken ct)
    {
        foreach (var gone in _reasons.Keys.Except(queued.Select(q => q.Id)).ToList())
            _reasons.Remove(gone);
        var changed = unfittable.Where(u => !_reasons.TryGetValue(u.Key, out var r) || r != u.Value).ToList();
        if (changed.Count == 0)
            return;
        var jobs = (await node.Store.GetManyAsync(changed.Select(c => c.Key).ToList(), ct)).ToDictionary(j => j.Id);
        foreach (var (id, reason) in changed)
        {
            if (!jobs.TryGetValue(id, out var job) || job.State != JobState.Queued)
                continue;
            if (job.Job.Reason == reason || await node.Store.TryUpdateAsync(job, Transitions.WithReason(job, reason), [fence], [], ct))
            {
                _reasons[id] = reason;
                if (job.Job.Reason != reason)
                    node.Log.Warn($"job {id} stays queued: {reason}");
            }
        }
    }
}
