using System.Diagnostics;
using System.Threading.Channels;
using Lcluster.Daemon.Metrics;
using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd;
using Lcluster.Shared;
using Lcluster.V1;

namespace Lcluster.Daemon.Prime;

/// <summary>
/// The prime's work, as rounds over its <see cref="LiveView"/>: settle orphans of dead nodes,
/// place queued jobs, mark the unplaceable, delete expired jobs. The view is read once and kept
/// current by one watch, so a round costs what the live work is, never what history holds. A
/// round runs when the view changed (changes arriving meanwhile are taken together) or a
/// second passes; a broken watch means reading the view again. Nothing survives the prime but
/// etcd: a new prime starts where the old one stopped.
/// </summary>
internal sealed class Reconciler(NodeContext node, Compare fence)
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan CatchUpWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan OutageBackoff = TimeSpan.FromSeconds(1);
    private const int RetentionBatch = 500;
    /// <summary>Placement Txns in flight at once, each of up to <see cref="JobStore.UpdatesPerTxn"/> jobs.</summary>
    private const int PlacingAtOnce = 2;

    /// <summary>When the prime first saw each orphan, in <see cref="Environment.TickCount64"/> milliseconds.</summary>
    private readonly Dictionary<string, long> _orphanSince = new();
    private readonly Dictionary<string, string> _reasons = new();
    private DateTimeOffset _nextRetention = DateTimeOffset.MinValue;
    private readonly Queue<(long AtMs, long Revision)> _revisions = new();
    private long _nextRevisionNoteMs = long.MinValue;
    /// <summary>The revision of the prime's latest placement: a view behind it would still show those slots free.</summary>
    private long _placedAt;
    private static readonly TimeSpan SpaceCheckEvery = TimeSpan.FromSeconds(2);
    private long _nextSpaceCheckMs = long.MinValue;
    private long? _spaceNote;
    private long? _compactedEarlySaidMs;
    private long? _spaceFailedSaidMs;

    /// <summary>How often expired jobs are looked for: every 30 s, more often when the retention itself is short.</summary>
    private TimeSpan RetentionEvery => TimeSpan.FromSeconds(Math.Clamp(node.Options.Retention.TotalSeconds / 4, 1, 30));

    private TimeSpan RetryDelay => Orphans.RetryDelay(node.Options.FenceTimeout, node.Options.LeaseTtl);

    public async Task RunAsync(CancellationToken ct)
    {
        var outage = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var view = new LiveView(await node.Store.ReadClusterAsync(withQueue: true, ct));
                if (outage)
                    node.Log.Info($"node {node.Name}: prime back at work, etcd answers again");
                outage = false;
                await FollowAsync(view, ct);
            }
            catch (EtcdCompactedException e)
            {
                node.Log.Warn($"node {node.Name}: prime's watch fell behind a compaction (revision {e.CompactRevision}); reading the queue and nodes again");
            }
            catch (EtcdUnavailableException e)
            {
                // Nothing can be decided without etcd; leadership stands or falls with the lease.
                if (!outage)
                    node.Log.Warn($"node {node.Name}: prime paused, etcd unreachable ({e.Message})");
                outage = true;
                await Task.Delay(OutageBackoff, ct);
            }
        }
    }

    /// <summary>Rounds over the view, applying etcd's changes between them, until the watch breaks.</summary>
    private async Task FollowAsync(LiveView view, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var changes = Channel.CreateUnbounded<IReadOnlyList<LiveChange>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var watch = WatchAsync(view.Revision, changes.Writer, stop.Token);
        try
        {
            while (true)
            {
                await RoundAsync(view, ct);
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
                tick.CancelAfter(Tick);
                try
                {
                    await changes.Reader.WaitToReadAsync(tick.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // A second without changes: a round all the same (retries wait on time, retention too).
                }
                await CatchUpAsync(view, changes.Reader, ct);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await watch;
        }
    }

    /// <summary>
    /// Applies the changes that arrived, and waits for more while the view is behind the prime's own placements: a
    /// Txn's answer may come before the watch has brought an earlier revision, and a round on that view would place
    /// jobs on slots it just filled. The watch brings every placement (it covers the run keys they make); one that
    /// takes longer than <see cref="CatchUpWait"/> counts as an outage: the view is read again.
    /// </summary>
    private async Task CatchUpAsync(LiveView view, ChannelReader<IReadOnlyList<LiveChange>> changes, CancellationToken ct)
    {
        var giveUpAt = Environment.TickCount64 + (long)CatchUpWait.TotalMilliseconds;
        while (true)
        {
            while (changes.TryRead(out var batch))
            {
                foreach (var change in batch)
                    view.Apply(change);
            }
            if (changes.Completion.IsCompleted)
            {
                await changes.Completion; // the watch broke: throws why
                return;
            }
            if (view.Revision >= Interlocked.Read(ref _placedAt))
                return;
            var left = giveUpAt - Environment.TickCount64;
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(0, left)));
            try
            {
                await changes.WaitToReadAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new EtcdUnavailableException(
                    $"the prime's watch is at revision {view.Revision} and has not brought its own placement at revision {Interlocked.Read(ref _placedAt)} within {CatchUpWait.TotalSeconds:0} s");
            }
        }
    }

    private async Task WatchAsync(long revision, ChannelWriter<IReadOnlyList<LiveChange>> changes, CancellationToken ct)
    {
        try
        {
            await foreach (var batch in node.Store.WatchLiveAsync(revision, ct))
                await changes.WriteAsync(batch, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The round loop stopped.
        }
        catch (Exception e)
        {
            changes.TryComplete(e); // the round loop reads the view again (compaction) or pauses (outage)
        }
    }

    private async Task RoundAsync(LiveView view, CancellationToken ct)
    {
        DaemonMetrics.PrimeRound();
        var orphans = Orphans.Find(view.Runs, view.Members);
        foreach (var gone in _orphanSince.Keys.Except(orphans.Select(o => o.Run.Id)).ToList())
            _orphanSince.Remove(gone);
        if (orphans.Count > 0)
            await SettleOrphansAsync(orphans, ct);

        var (capacity, unstarted) = view.Room();
        await PlaceAsync(Placement.Place(view.Queue, capacity, ApplyPace.Budget(unstarted)), unstarted, view.Members, ct);
        await MarkUnfittableAsync(view, capacity, ct);

        if (DateTimeOffset.UtcNow >= _nextRetention)
        {
            _nextRetention = DateTimeOffset.UtcNow + RetentionEvery;
            await SweepRetentionAsync(ct);
        }
        if (node.Options.EtcdHistory > TimeSpan.Zero && Environment.TickCount64 >= _nextRevisionNoteMs)
        {
            _nextRevisionNoteMs = Environment.TickCount64 + (long)(node.Options.EtcdHistory / 2).TotalMilliseconds;
            await CompactHistoryAsync(ct);
        }
        if (node.Options.EtcdHistory > TimeSpan.Zero && Environment.TickCount64 >= _nextSpaceCheckMs)
        {
            _nextSpaceCheckMs = Environment.TickCount64 + (long)SpaceCheckEvery.TotalMilliseconds;
            await CompactForSpaceAsync(ct);
        }
    }

    /// <summary>
    /// Compacts etcd early when more than half of its space quota is in use (docs/etcd-keys.md, "History"). Jobs made
    /// and removed fast enough fill the quota with history well within --etcd-history, and etcd then refuses every
    /// write, the whole cluster's, until an operator clears its alarm. The prime reads etcd's space every few seconds
    /// and, past half the quota, compacts to the revision of its previous read: a watch or client a moment behind
    /// still resumes, one further behind reads the state again, as after any compaction.
    /// </summary>
    private async Task CompactForSpaceAsync(CancellationToken ct)
    {
        var previous = _spaceNote;
        var quota = node.Options.EtcdQuota;
        try
        {
            var (revision, inUse) = await node.Store.SpaceAsync(ct);
            _spaceNote = revision;
            if (inUse <= quota / 2 || previous is not { } target)
                return;
            await node.Store.CompactAsync(target, ct);
            SaySometimes(ref _compactedEarlySaidMs, $"etcd has {Units.FormatBytes(inUse)} in use, over half of its quota of {Units.FormatBytes(quota)} (--etcd-quota): " +
                $"history compacted early, to revision {target}, keeping less than --etcd-history {Units.FormatDuration(node.Options.EtcdHistory.TotalSeconds)}; " +
                "if this goes on, give etcd a larger quota (and --etcd-quota) or keep finished jobs for less (--retention)");
        }
        catch (EtcdCompactedException)
        {
            // Compacted past it already: by the prime's own compaction by time, etcd's auto-compaction or an operator.
        }
        catch (EtcdException e)
        {
            SaySometimes(ref _spaceFailedSaidMs, $"etcd space: reading it or compacting failed ({e.Message}); trying again in {Units.FormatDuration(SpaceCheckEvery.TotalSeconds)}");
        }
    }

    /// <summary>A warning at most once a minute (<paramref name="saidMs"/>: when it was last said): the check that leads to it runs every few seconds.</summary>
    private void SaySometimes(ref long? saidMs, string warning)
    {
        if (Environment.TickCount64 - saidMs < 60_000) // null (never said) compares false
            return;
        saidMs = Environment.TickCount64;
        node.Log.Warn(warning);
    }

    /// <summary>
    /// Compacts etcd's history to the revision it had --etcd-history ago (docs/etcd-keys.md, "History"). etcd keeps every
    /// version of every key, and every deleted key, until it is compacted: without it its database grows with every job
    /// ever run until it reaches its space quota and refuses writes, and each range read walks the keys deleted from
    /// the range as well. The prime notes the revision every half of the history and compacts to the newest note old
    /// enough, so between one and one and a half times the history is kept; a new prime starts noting afresh.
    /// </summary>
    private async Task CompactHistoryAsync(CancellationToken ct)
    {
        // Times from the monotonic clock: a step of the wall clock must not make a note seem old enough.
        var now = Environment.TickCount64;
        var history = (long)node.Options.EtcdHistory.TotalMilliseconds;
        long? target = null;
        try
        {
            _revisions.Enqueue((now, await node.Store.RevisionAsync(ct)));
            while (_revisions.TryPeek(out var oldest) && now - oldest.AtMs >= history)
                target = _revisions.Dequeue().Revision;
            if (target is not { } revision)
                return;
            await node.Store.CompactAsync(revision, ct);
            node.Log.Info($"etcd history compacted to revision {revision} (--etcd-history {Units.FormatDuration(node.Options.EtcdHistory.TotalSeconds)})");
        }
        catch (EtcdCompactedException)
        {
            // Compacted past it already (etcd's own auto-compaction, or an operator): nothing to do.
        }
        catch (EtcdException e)
        {
            // Housekeeping: it must not end the prime's term nor its view; the next note tries again with a newer revision.
            node.Log.Warn($"etcd history: {(target is { } r ? $"compacting to revision {r}" : "reading the revision")} failed ({e.Message}); trying again in {Units.FormatDuration(node.Options.EtcdHistory.TotalSeconds / 2)}");
        }
    }

    private async Task SettleOrphansAsync(IReadOnlyList<Orphan> orphans, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var tick = Environment.TickCount64;
        var jobs = (await node.Store.GetManyAsync(orphans.Select(o => o.Run.Id).ToList(), ct)).ToDictionary(j => j.Id);
        foreach (var (run, why) in orphans)
        {
            var since = _orphanSince.TryGetValue(run.Id, out var first) ? first : _orphanSince[run.Id] = tick;
            if (!jobs.TryGetValue(run.Id, out var job) || job.Job.Node != run.Node || JobStates.IsFinished(job.State))
            {
                // The record moved on without this run key: drop the key.
                await node.Store.DropKeyAsync(Keys.Run(run.Node, run.Id), [fence, Cmp.ModRevision(Keys.Run(run.Node, run.Id)) == run.ModRevision], ct);
                continue;
            }
            if (!Orphans.Due(job, TimeSpan.FromMilliseconds(tick - since), RetryDelay))
                continue; // Its node may still be running it, cut off: wait until it has surely killed it.
            var change = Settlement.Orphan(job, why, now);
            if (await node.Store.TryUpdateAsync(job, change.Next, [fence], change.Ops, ct))
                node.Log.Info($"job {job.Id} {Settle.Name(change.State)}: {change.Next.Job.Reason}");
        }
    }

    private async Task PlaceAsync(IReadOnlyList<JobPlacement> assignments, int unstarted, IReadOnlyDictionary<string, NodeRecord> members, CancellationToken ct)
    {
        if (assignments.Count == 0)
            return;
        var jobs = (await node.Store.GetManyAsync(assignments.Select(a => a.JobId).ToList(), ct)).ToDictionary(j => j.Id);
        var placements = new List<JobStore.Update>();
        foreach (var a in assignments)
        {
            if (!jobs.TryGetValue(a.JobId, out var job) || job.State != JobState.Queued)
            {
                // A queue entry without a queued record (a crash between writes cannot cause it; be safe anyway), dropped
                // only while the record is still as read: a job made again under the same id meanwhile keeps its entry.
                if (job is null || JobStates.IsFinished(job.State))
                    await node.Store.DropKeyAsync(Keys.QueueEntry(a.JobId), [fence, Cmp.ModRevision(Keys.Job(a.JobId)) == (job?.ModRevision ?? 0)], ct);
                continue;
            }
            var target = members[a.Node];
            placements.Add(JobStore.Placement(job, a.Node, target.Incarnation, fence, Cmp.Lease(Keys.Member(a.Node)) == target.Incarnation));
        }
        // A round places as many jobs as the cluster has free slots, up to what ApplyPace lets be on the way to nodes
        // at once (hundreds): several jobs go in one Txn, a bounded number of Txns are in flight, and each waits while
        // etcd is behind in applying what it committed, so the nodes' lease renewals are not starved behind a burst
        // (a round that leaves only a few placements on their way does not ask: ApplyPace.ReadsBacklog).
        // A Txn that fails (a job cancelled or a node gone meanwhile) is placed again job by job, so one job's change
        // does not hold back the others.
        var txns = placements.Chunk(JobStore.UpdatesPerTxn(JobStore.PlacementOps));
        var paced = ApplyPace.ReadsBacklog(unstarted + placements.Count);
        await Parallel.ForEachAsync(txns, new ParallelOptions { MaxDegreeOfParallelism = PlacingAtOnce, CancellationToken = ct }, async (txn, _) =>
        {
            if (paced)
                await KeepPaceWithEtcdAsync(ct);
            if (txn.Length > 1 && await node.Store.TryUpdateAllAsync(txn, ct) is { } all)
            {
                Placed(all);
                foreach (var placed in txn)
                    node.Log.Info($"job {placed.Read.Id} scheduled on {placed.Changed.Job.Node}");
                return;
            }
            foreach (var one in txn)
            {
                if (await node.Store.TryUpdateAllAsync([one], ct) is { } revision)
                {
                    Placed(revision);
                    node.Log.Info($"job {one.Read.Id} scheduled on {one.Changed.Job.Node}");
                }
            }
        });
    }

    /// <summary>Notes a placement's revision: no round decides on a view older than the prime's own placements.</summary>
    private void Placed(long revision)
    {
        long seen;
        while ((seen = Interlocked.Read(ref _placedAt)) < revision && Interlocked.CompareExchange(ref _placedAt, revision, seen) != seen)
        {
        }
    }

    /// <summary>Waits while etcd has more committed than applied entries than <see cref="ApplyPace"/> allows (at most its cap).</summary>
    private async Task KeepPaceWithEtcdAsync(CancellationToken ct)
    {
        var waiting = Stopwatch.StartNew();
        var held = false;
        while (ApplyPace.ShouldWait(await node.Store.ApplyBacklogAsync(ct), waiting.Elapsed))
        {
            held = true;
            await Task.Delay(ApplyPace.Poll, ct);
        }
        if (held)
            DaemonMetrics.PlacementHeldBack();
    }

    /// <summary>Jobs no live node could ever run get the reason in their record: looked at when they arrive or the nodes change.</summary>
    private async Task MarkUnfittableAsync(LiveView view, IReadOnlyCollection<NodeCapacity> capacity, CancellationToken ct)
    {
        // Only the jobs queued since the last round are looked at (all of them when the nodes changed), so a round
        // does not cost the length of the queue.
        var everything = view.TakeMembersChanged();
        var fresh = view.TakeQueuedSinceLastTake();
        var unqueued = view.TakeUnqueuedSinceLastTake();
        foreach (var gone in everything ? _reasons.Keys.Where(id => !view.IsQueued(id)).ToList() : unqueued)
            _reasons.Remove(gone);
        var candidates = everything ? view.Queue : fresh;
        var unfittable = Placement.Unfittable(candidates, capacity);
        foreach (var job in candidates)
            _reasons.TryAdd(job.Id, ""); // looked at: fits some node (or is marked below)
        var changed = unfittable.Where(u => _reasons[u.Key] != u.Value).ToList();
        if (changed.Count == 0)
            return;
        var records = (await node.Store.GetManyAsync(changed.Select(c => c.Key).ToList(), ct)).ToDictionary(j => j.Id);
        foreach (var (id, reason) in changed)
        {
            if (!records.TryGetValue(id, out var job) || job.State != JobState.Queued)
                continue;
            if (job.Job.Reason == reason || await node.Store.TryUpdateAsync(job, Transitions.WithReason(job, reason), [fence], [], ct))
            {
                _reasons[id] = reason;
                if (job.Job.Reason != reason)
                    node.Log.Warn($"job {id} stays queued: {reason}");
            }
        }
    }

    /// <summary>Deletes finished jobs (record, spec, stdin, tails, index keys, output) once the retention period has passed, oldest first.</summary>
    private async Task SweepRetentionAsync(CancellationToken ct)
    {
        var cutoff = DateTimeOffset.UtcNow - node.Options.Retention;
        var deleted = 0;
        while (!ct.IsCancellationRequested)
        {
            var expired = await node.Store.FinishedBeforeAsync(cutoff, RetentionBatch, ct);
            var before = deleted;
            foreach (var (key, keyRevision, job) in expired)
            {
                // A key without its job: the job was deleted, or made again under its id since (and is not finished, or
                // finished at another time, under a key of its own).
                if (job is null)
                    await node.Store.DropKeyAsync(key, [fence, Cmp.ModRevision(key) == keyRevision], ct);
                else if (await node.Store.TryDeleteAsync(job, [fence], ct))
                    deleted++;
            }
            if (expired.Count < RetentionBatch || deleted == before)
                break; // all done, or the rest changed under us: the next sweep takes them
        }
        if (deleted > 0)
            node.Log.Info($"retention: deleted {deleted} job(s) finished before {cutoff:yyyy-MM-dd'T'HH:mm:ss'Z'}");
    }
}
