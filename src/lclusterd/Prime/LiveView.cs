using Lcluster.Daemon.Store;

namespace Lcluster.Daemon.Prime;

/// <summary>
/// The prime's picture of live work — members, slots held, the queue in placement order — read
/// once at a revision and then kept current by applying the changes etcd reports after it, in
/// order. Decisions made from it are fenced in etcd, so a view a moment old costs a refused Txn,
/// never a wrong record. Owned by the reconciler's one loop: not thread-safe.
/// </summary>
internal sealed class LiveView
{
    private readonly Dictionary<string, NodeRecord> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunKey> _runs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QueuedJob> _queued = new(StringComparer.Ordinal);
    private readonly SortedSet<QueuedJob> _order = new(Placement.Order);
    private readonly HashSet<string> _queuedSince = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unqueuedSince = new(StringComparer.Ordinal);

    public LiveView(ClusterSnapshot snapshot)
    {
        foreach (var member in snapshot.Members)
            _members[member.Name] = member;
        foreach (var run in snapshot.Runs)
            _runs[RunId(run.Node, run.Id)] = run;
        foreach (var item in snapshot.Queue)
            Enqueue(item);
        Revision = snapshot.Revision;
    }

    /// <summary>The revision the view is current at.</summary>
    public long Revision { get; private set; }

    /// <summary>Members changed since the last call (a node joined, left, or came back as a new incarnation).</summary>
    public bool MembersChanged { get; private set; } = true;

    public IReadOnlyDictionary<string, NodeRecord> Members => _members;

    public IEnumerable<RunKey> Runs => _runs.Values;

    /// <summary>The queue in placement order (priority, then submission, then array index).</summary>
    public IReadOnlyCollection<QueuedJob> Queue => _order;

    public bool IsQueued(string id) => _queued.ContainsKey(id);

    public void Apply(LiveChange change)
    {
        switch (change)
        {
            case LiveChange.MemberPut put:
                MembersChanged |= !_members.TryGetValue(put.Node.Name, out var was) || was.Incarnation != put.Node.Incarnation;
                _members[put.Node.Name] = put.Node;
                break;
            case LiveChange.MemberGone gone:
                MembersChanged |= _members.Remove(gone.Node);
                break;
            case LiveChange.RunPut put:
                _runs[RunId(put.Run.Node, put.Run.Id)] = put.Run;
                break;
            case LiveChange.RunGone gone:
                _runs.Remove(RunId(gone.Node, gone.Id));
                break;
            case LiveChange.Queued queued:
                Dequeue(queued.Item.Id);
                Enqueue(queued.Item);
                break;
            case LiveChange.Unqueued unqueued:
                Dequeue(unqueued.Id);
                break;
        }
        Revision = Math.Max(Revision, change.Revision);
    }

    /// <summary>Says whether members changed since the last call, and forgets it.</summary>
    public bool TakeMembersChanged()
    {
        var changed = MembersChanged;
        MembersChanged = false;
        return changed;
    }

    /// <summary>
    /// Each live node's room (slots and memory taken by the run keys of its current incarnation), and how many of
    /// those placements their nodes have not marked started yet: one pass over the run keys.
    /// </summary>
    public (IReadOnlyList<NodeCapacity> Nodes, int Unstarted) Room()
    {
        var load = NodeLoad.Of(_members.Values, _runs.Values);
        var nodes = _members.Values.Select(m =>
        {
            var held = load.GetValueOrDefault(m.Name);
            return new NodeCapacity(m.Name, m.Slots, held.Slots, m.MemoryBytes, held.MemoryBytes, JobLimits.From(m.MaxLimits));
        }).ToList();
        return (nodes, load.Values.Sum(l => l.Starting));
    }

    /// <summary>The jobs queued (or queued again) since the last call that are still queued, and forgets them.</summary>
    public IReadOnlyList<QueuedJob> TakeQueuedSinceLastTake()
    {
        var fresh = _queuedSince.Select(id => _queued.GetValueOrDefault(id)).OfType<QueuedJob>().ToList();
        _queuedSince.Clear();
        return fresh;
    }

    /// <summary>The ids that left the queue since the last call (placed, cancelled, deleted), and forgets them.</summary>
    public IReadOnlyList<string> TakeUnqueuedSinceLastTake()
    {
        var gone = _unqueuedSince.ToList();
        _unqueuedSince.Clear();
        return gone;
    }

    private void Enqueue(QueueItem item)
    {
        var job = new QueuedJob(item.Id, item.Entry.Priority, item.Sequence, JobLimits.From(item.Entry.Limits), item.Entry.ArrayIndex);
        _queued[item.Id] = job;
        _order.Add(job);
        _queuedSince.Add(item.Id);
    }

    private void Dequeue(string id)
    {
        if (_queued.Remove(id, out var job))
        {
            _order.Remove(job);
            _unqueuedSince.Add(id);
        }
    }

    private static string RunId(string node, string id) => node + "/" + id;
}
