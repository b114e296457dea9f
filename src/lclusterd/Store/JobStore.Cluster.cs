using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Google.Protobuf;
using Lcluster.Etcd.Api;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd.Watching;
using Lcluster.Etcd;

namespace Lcluster.Daemon.Store;

/// <summary>
/// A job's hold on a slot of a node: its run key. Its create revision names the placement: a job placed on the same
/// node again (a retry, a requeue) gets a new key, while a cancel request rewrites the same one.
/// </summary>
internal sealed record RunKey(string Node, string Id, Assignment Assignment, long ModRevision, long CreateRevision);

/// <summary>
/// What the run keys of a node's current incarnation hold on it: slots, the placements among them the node has not
/// marked started yet, and the memory they reserve. A key left by an earlier incarnation holds nothing: the prime
/// settles it as an orphan.
/// </summary>
internal readonly record struct NodeLoad(int Slots, int Starting, long MemoryBytes)
{
    /// <summary>Each live member's load (members holding nothing are absent), in one pass over the run keys.</summary>
    public static Dictionary<string, NodeLoad> Of(IEnumerable<NodeRecord> members, IEnumerable<RunKey> runs)
    {
        var incarnation = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var member in members)
            incarnation[member.Name] = member.Incarnation;
        var load = new Dictionary<string, NodeLoad>(StringComparer.Ordinal);
        foreach (var run in runs)
        {
            if (!incarnation.TryGetValue(run.Node, out var current) || current != run.Assignment.NodeIncarnation)
                continue;
            var held = load.GetValueOrDefault(run.Node);
            load[run.Node] = new(held.Slots + 1, held.Starting + (run.Assignment.Started ? 0 : 1), held.MemoryBytes + run.Assignment.MemoryBytes);
        }
        return load;
    }
}

/// <summary>A queue entry as the prime reads it.</summary>
internal sealed record QueueItem(string Id, QueueEntry Entry, long CreateRevision)
{
    /// <summary>Its place among equal priorities: the job's creation, kept across requeues.</summary>
    public long Sequence => Entry.Sequence != 0 ? Entry.Sequence : CreateRevision;
}

/// <summary>What the prime decides from: the live nodes, every slot held, the queue, all at one revision.</summary>
internal sealed record ClusterSnapshot(IReadOnlyList<NodeRecord> Members, IReadOnlyList<RunKey> Runs, IReadOnlyList<QueueItem> Queue, long Revision);

/// <summary>What a node reads of its own work: the jobs placed on it, and the outputs it keeps.</summary>
internal sealed record NodeWork(IReadOnlyList<RunKey> Runs, IReadOnlySet<string> Outputs, long Revision);

/// <summary>
/// A change of one of a node's keys: a run key put (with its placement, <see cref="RunKey.CreateRevision"/>) or
/// deleted, or an output key deleted.
/// </summary>
internal sealed record NodeChange(string Id, bool IsRun, bool Deleted, Assignment? Assignment, long Placement);

/// <summary>A change of a job record: the record after it (before it, for a deletion).</summary>
internal sealed record JobChange(long Revision, JobRecord Record, bool Deleted);

/// <summary>A job record written at a revision, or (Record null) deleted at it.</summary>
internal sealed record RecordChange(string Id, JobRecord? Record, long Revision);

/// <summary>A change under /lcluster/live/: a member, a run key or a queue entry put (with its new value) or deleted.</summary>
internal abstract record LiveChange(long Revision)
{
    public sealed record MemberPut(long Revision, NodeRecord Node) : LiveChange(Revision);
    public sealed record MemberGone(long Revision, string Node) : LiveChange(Revision);
    public sealed record RunPut(long Revision, RunKey Run) : LiveChange(Revision);
    public sealed record RunGone(long Revision, string Node, string Id) : LiveChange(Revision);
    public sealed record Queued(long Revision, QueueItem Item) : LiveChange(Revision);
    public sealed record Unqueued(long Revision, string Id) : LiveChange(Revision);
}

internal sealed partial class JobStore
{
    /// <summary>Answers once etcd does; throws EtcdUnavailableException otherwise.</summary>
    public Task PingAsync(CancellationToken ct) => etcd.GetAsync(Keys.Members, new GetOptions { Prefix = true, CountOnly = true }, ct);

    /// <summary>The members, run keys and (when asked) the queue, paginated, all at one revision: a consistent view of live work only.</summary>
    public async Task<ClusterSnapshot> ReadClusterAsync(bool withQueue, CancellationToken ct)
    {
        var members = new List<NodeRecord>();
        long revision = 0;
        await foreach (var page in etcd.ScanAsync(Keys.Members, cancellationToken: ct))
        {
            revision = page.Revision;
            members.AddRange(page.Kvs.Select(kv => NodeRecord.Parser.ParseFrom(kv.Value)));
        }
        var runs = new List<RunKey>();
        await foreach (var page in etcd.ScanAsync(Keys.Runs, revision: revision, cancellationToken: ct))
            runs.AddRange(page.Kvs.Select(ParseRun));
        var queue = new List<QueueItem>();
        if (withQueue)
        {
            await foreach (var page in etcd.ScanAsync(Keys.Queue, revision: revision, cancellationToken: ct))
                queue.AddRange(page.Kvs.Select(kv => new QueueItem(Keys.Last(kv.KeyText), QueueEntry.Parser.ParseFrom(kv.Value), kv.CreateRevision)));
        }
        return new ClusterSnapshot(members, runs, queue, revision);
    }

    /// <summary>The prime's name, or null when there is none (the oldest candidate of the election leads).</summary>
    public async Task<string?> PrimeAsync(CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Prime + "/", new GetOptions
        {
            Prefix = true, Limit = 1,
            SortTarget = RangeRequest.Types.SortTarget.Create, SortOrder = RangeRequest.Types.SortOrder.Ascend,
        }, ct);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].ValueText;
    }

    public async Task<IReadOnlyDictionary<string, NodeRecord>> MembersAsync(CancellationToken ct)
    {
        var members = new Dictionary<string, NodeRecord>();
        await foreach (var page in etcd.ScanAsync(Keys.Members, cancellationToken: ct))
        {
            foreach (var kv in page.Kvs)
            {
                var node = NodeRecord.Parser.ParseFrom(kv.Value);
                members[node.Name] = node;
            }
        }
        return members;
    }

    /// <summary>A node's run keys and output keys, paginated, at one revision.</summary>
    public async Task<NodeWork> ReadNodeAsync(string node, CancellationToken ct)
    {
        var runs = new List<RunKey>();
        long revision = 0;
        await foreach (var page in etcd.ScanAsync(Keys.RunPrefix(node), cancellationToken: ct))
        {
            revision = page.Revision;
            runs.AddRange(page.Kvs.Select(ParseRun));
        }
        var outputs = new HashSet<string>();
        await foreach (var page in etcd.ScanAsync(Keys.OutPrefix(node), revision: revision, cancellationToken: ct))
            outputs.UnionWith(page.Kvs.Select(kv => Keys.Last(kv.KeyText)));
        return new NodeWork(runs, outputs, revision);
    }

    /// <summary>Changes of a node's run and output keys after <paramref name="revision"/>, in order per kind; ends only when cancelled.</summary>
    public async IAsyncEnumerable<NodeChange> WatchNodeAsync(string node, long revision, [EnumeratorCancellation] CancellationToken ct)
    {
        var changes = Channel.CreateUnbounded<NodeChange>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        async Task PumpAsync(string prefix, bool isRun)
        {
            try
            {
                await foreach (var batch in etcd.WatchAsync(prefix, new WatchOptions { Prefix = true, StartRevision = revision + 1 }, stop.Token))
                {
                    foreach (var e in batch.Events)
                    {
                        var deleted = e.Type == Event.Types.EventType.Delete;
                        var assignment = isRun && !deleted ? Assignment.Parser.ParseFrom(e.Kv.Value) : null;
                        await changes.Writer.WriteAsync(new NodeChange(Keys.Last(e.Kv.KeyText), isRun, deleted, assignment, e.Kv.CreateRevision), stop.Token);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The reader stopped.
            }
            catch (Exception e)
            {
                changes.Writer.TryComplete(e); // the reader rethrows it: a compaction or an outage means read everything again
            }
        }
        var pumps = Task.WhenAll(PumpAsync(Keys.RunPrefix(node), isRun: true), PumpAsync(Keys.OutPrefix(node), isRun: false));
        try
        {
            await foreach (var change in changes.Reader.ReadAllAsync(ct))
                yield return change;
        }
        finally
        {
            await stop.CancelAsync();
            await pumps; // each pump ends quietly once stopped; what failed went to the reader

        }
    }

    /// <summary>
    /// Every change of members, run keys and queue entries after <paramref name="revision"/>, in
    /// revision order (one watch on /lcluster/live/): applied to a <see cref="ReadClusterAsync"/>
    /// read at that revision, they keep it current. Ends only when cancelled; a compaction throws.
    /// </summary>
    public async IAsyncEnumerable<IReadOnlyList<LiveChange>> WatchLiveAsync(long revision, [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var batch in etcd.WatchAsync(Keys.Live, new WatchOptions { Prefix = true, StartRevision = revision + 1 }, ct))
        {
            var changes = new List<LiveChange>(batch.Events.Count);
            foreach (var e in batch.Events)
            {
                var key = e.Kv.KeyText;
                var deleted = e.Type == Event.Types.EventType.Delete;
                var at = e.Kv.ModRevision;
                if (key.StartsWith(Keys.Members, StringComparison.Ordinal))
                    changes.Add(deleted ? new LiveChange.MemberGone(at, Keys.Last(key)) : new LiveChange.MemberPut(at, NodeRecord.Parser.ParseFrom(e.Kv.Value)));
                else if (key.StartsWith(Keys.Runs, StringComparison.Ordinal))
                    changes.Add(deleted ? new LiveChange.RunGone(at, Keys.NodeOf(key), Keys.Last(key)) : new LiveChange.RunPut(at, ParseRun(e.Kv)));
                else if (key.StartsWith(Keys.Queue, StringComparison.Ordinal))
                    changes.Add(deleted ? new LiveChange.Unqueued(at, Keys.Last(key))
                        : new LiveChange.Queued(at, new QueueItem(Keys.Last(key), QueueEntry.Parser.ParseFrom(e.Kv.Value), e.Kv.CreateRevision)));
            }
            if (changes.Count > 0)
                yield return changes;
        }
    }

    /// <summary>
    /// Every change of job records from revision <paramref name="from"/> on (null: from now on),
    /// of one job or of all, in revision order and within a revision in order of job id (a watch
    /// response holds whole revisions), past <paramref name="afterId"/>'s change in revision
    /// <paramref name="from"/> when given; a deletion carries the record as it was. A
    /// compacted revision throws <see cref="EtcdCompactedException"/>.
    /// </summary>
    public async IAsyncEnumerable<JobChange> WatchJobsAsync(long? from, string? id, string? afterId, [EnumeratorCancellation] CancellationToken ct)
    {
        var options = new WatchOptions { Prefix = id is null, StartRevision = from ?? 0, PrevKv = true };
        await foreach (var batch in etcd.WatchAsync(id is null ? Keys.Jobs : Keys.Job(id), options, ct))
        {
            // A job's record is put at most once in a revision, so (revision, id) names one change.
            foreach (var e in batch.Events.OrderBy(e => e.Kv.ModRevision).ThenBy(e => e.Kv.KeyText, StringComparer.Ordinal))
            {
                if (afterId is not null && e.Kv.ModRevision == from && string.CompareOrdinal(Keys.Last(e.Kv.KeyText), afterId) <= 0)
                    continue;
                var deleted = e.Type == Event.Types.EventType.Delete;
                var value = deleted ? e.PrevKv?.Value : e.Kv.Value;
                if (value is null || value.IsEmpty)
                    continue; // a deletion etcd could not give the old value of (compacted meanwhile): nothing to show
                yield return new JobChange(e.Kv.ModRevision, JobRecord.Parser.ParseFrom(value), deleted);
            }
        }
    }

    /// <summary>
    /// Every change of job records from revision <paramref name="from"/> on, a watch response at
    /// a time (each holds whole revisions); a compacted revision throws <see cref="EtcdCompactedException"/>.
    /// </summary>
    public async IAsyncEnumerable<IReadOnlyList<RecordChange>> WatchRecordsAsync(long from, [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var batch in etcd.WatchAsync(Keys.Jobs, new WatchOptions { Prefix = true, StartRevision = from }, ct))
        {
            if (batch.IsProgressNotify)
                continue;
            yield return [.. batch.Events.Select(e => new RecordChange(Keys.Last(e.Kv.KeyText),
                e.Type == Event.Types.EventType.Delete ? null : JobRecord.Parser.ParseFrom(e.Kv.Value), e.Kv.ModRevision))];
        }
    }

    /// <summary>The run key of a job on a node, or null when it has none.</summary>
    public async Task<RunKey?> GetRunAsync(string node, string id, CancellationToken ct)
    {
        var response = await etcd.GetAsync(Keys.Run(node, id), cancellationToken: ct);
        return response.Kvs.Count == 0 ? null : ParseRun(response.Kvs[0]);
    }

    /// <summary>Marks a scheduled or running job to be cancelled: its record and its run key, in one Txn, fenced on both.</summary>
    public Task<bool> TryRequestCancelAsync(StoredJob read, RunKey run, CancellationToken ct)
    {
        var assignment = run.Assignment.Clone();
        assignment.Cancel = true;
        assignment.Scheduled = ByteString.Empty; // the record changes with this Txn: its copy as placed is no longer it
        return TryUpdateAsync(read, Transitions.CancelRequested(read),
            [Cmp.ModRevision(Keys.Run(run.Node, run.Id)) == run.ModRevision],
            [Op.Put(Keys.Run(run.Node, run.Id), assignment.ToByteString())], ct);
    }

    /// <summary>
    /// Removes a key that outlived its job's record (a run key or queue entry the job moved on without, a retention
    /// key of a job deleted or made again), if the guards hold.
    /// </summary>
    public async Task<bool> DropKeyAsync(string key, IEnumerable<Compare> guards, CancellationToken ct) =>
        (await etcd.TxnAsync(Txn.If([.. guards]).Then(Op.Delete(key)), ct)).Succeeded;

    private static RunKey ParseRun(KeyValue kv) =>
        new(Keys.NodeOf(kv.KeyText), Keys.Last(kv.KeyText), Assignment.Parser.ParseFrom(kv.Value), kv.ModRevision, kv.CreateRevision);
}
