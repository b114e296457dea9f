using Lcluster.Daemon.Store;
using Lcluster.Shared;

namespace Lcluster.Daemon.Prime;

/// <summary>A queued job as placement sees it.</summary>
internal sealed record QueuedJob(string Id, int Priority, long Sequence, JobLimits Limits, int ArrayIndex = 0);

/// <summary>A live node as placement sees it: what it offers and what is taken.</summary>
internal sealed record NodeCapacity(string Name, int Slots, int SlotsUsed, long MemoryBytes, long MemoryReserved, JobLimits MaxLimits)
{
    public int FreeSlots => Slots - SlotsUsed;
    public long FreeMemory => MemoryBytes - MemoryReserved;
}

internal sealed record JobPlacement(string JobId, string Node);

/// <summary>
/// Where queued jobs go: a pure function of the queue and the live nodes, so
/// the prime's decisions can be tested without etcd. Jobs are taken by
/// priority (highest first), then by submission order. A job goes to the
/// fitting node with the most free capacity, ties broken by a hash of job
/// and node (spreading work). A job that fits a node but finds no room now
/// waits without blocking the jobs behind it (backfill); a job that no live
/// node could ever run is reported with the reason and stays queued.
/// </summary>
internal static class Placement
{
    /// <summary>Placement order: higher priority first, then submission, then array index, then id.</summary>
    public static readonly IComparer<QueuedJob> Order = Comparer<QueuedJob>.Create((a, b) =>
    {
        var c = b.Priority.CompareTo(a.Priority);
        if (c == 0)
            c = a.Sequence.CompareTo(b.Sequence);
        if (c == 0)
            c = a.ArrayIndex.CompareTo(b.ArrayIndex);
        return c != 0 ? c : string.CompareOrdinal(a.Id, b.Id);
    });

    /// <summary>
    /// Where jobs go now: the queue, given in <see cref="Order"/>, is taken from the top, each job to the best
    /// fitting node with room; a job that finds no room waits without holding back the jobs
    /// behind it. Stops as soon as no node has a free slot, or <paramref name="most"/> jobs are
    /// placed, so its cost follows the free slots, not the length of the queue.
    /// </summary>
    public static IReadOnlyList<JobPlacement> Place(IEnumerable<QueuedJob> queue, IEnumerable<NodeCapacity> nodes, int most = int.MaxValue)
    {
        var live = nodes.Select(n => new Room(n)).OrderBy(r => r.Node.Name, StringComparer.Ordinal).ToList();
        var assignments = new List<JobPlacement>();
        var free = Math.Min(most, live.Sum(r => Math.Max(0, r.FreeSlots)));
        if (free <= 0)
            return assignments;
        foreach (var job in queue)
        {
            Room? best = null;
            var seed = Room.Seed(job.Id);
            foreach (var room in live)
            {
                if (room.FreeSlots <= 0 || room.FreeMemory < job.Limits.MemoryBytes || !CouldEverRun(room.Node, job.Limits))
                    continue;
                if (best is null || room.IsBetterFor(seed, best))
                    best = room;
            }
            if (best is null)
                continue;
            best.Take(job.Limits.MemoryBytes);
            assignments.Add(new JobPlacement(job.Id, best.Node.Name));
            if (--free == 0)
                break;
        }
        return assignments;
    }

    /// <summary>The jobs no live node could ever run (were it idle), with the reason a person reads; empty with no nodes at all.</summary>
    public static IReadOnlyDictionary<string, string> Unfittable(IEnumerable<QueuedJob> jobs, IReadOnlyCollection<NodeCapacity> nodes)
    {
        var unfittable = new Dictionary<string, string>();
        if (nodes.Count == 0)
            return unfittable;
        foreach (var job in jobs)
        {
            if (!nodes.Any(n => CouldEverRun(n, job.Limits)))
                unfittable[job.Id] = WhyNoNodeFits(job.Limits, nodes);
        }
        return unfittable;
    }

    /// <summary>True when the node could run the job if it were idle.</summary>
    public static bool CouldEverRun(NodeCapacity node, JobLimits job) =>
        node.Slots > 0
        && job.MemoryBytes <= node.MemoryBytes
        && Within(job.MemoryBytes, node.MaxLimits.MemoryBytes)
        && Within(job.Cpus, node.MaxLimits.Cpus)
        && Within(job.Pids, node.MaxLimits.Pids)
        && Within(job.TimeSeconds, node.MaxLimits.TimeSeconds)
        && Within(job.DiskBytes, node.MaxLimits.DiskBytes);

    // Zero is "unlimited" on both sides: an unlimited ask fits only an unlimited maximum.
    private static bool Within(double ask, double max) => max <= 0 || (ask > 0 && ask <= max);

    private static string WhyNoNodeFits(JobLimits job, IEnumerable<NodeCapacity> nodes)
    {
        var all = nodes.ToList();
        if (all.All(n => n.Slots <= 0))
            return "no live node has any job slots";
        var memoryRoom = all.Max(n => Largest(n.MemoryBytes, n.MaxLimits.MemoryBytes));
        if (job.MemoryBytes > memoryRoom)
            return $"no live node can ever run it: it asks for {Units.FormatBytes(job.MemoryBytes)} of memory, the most any node offers is {Units.FormatBytes(memoryRoom)}";
        if (!all.Any(n => Within(job.Cpus, n.MaxLimits.Cpus)))
            return $"no live node can ever run it: it asks for {Describe(job.Cpus)} cpus, the most any node allows is {all.Max(n => n.MaxLimits.Cpus)}";
        if (!all.Any(n => Within(job.Pids, n.MaxLimits.Pids)))
            return $"no live node can ever run it: it asks for {Describe(job.Pids)} pids, the most any node allows is {all.Max(n => n.MaxLimits.Pids)}";
        if (!all.Any(n => Within(job.TimeSeconds, n.MaxLimits.TimeSeconds)))
            return $"no live node can ever run it: it asks for {(job.TimeSeconds > 0 ? Units.FormatSeconds(job.TimeSeconds) : "unlimited")} of run time, the most any node allows is {Units.FormatSeconds(all.Max(n => n.MaxLimits.TimeSeconds))}";
        if (!all.Any(n => Within(job.DiskBytes, n.MaxLimits.DiskBytes)))
            return $"no live node can ever run it: it asks for {(job.DiskBytes > 0 ? Units.FormatBytes(job.DiskBytes) : "unlimited")} of disk, the most any node allows is {Units.FormatBytes(all.Max(n => n.MaxLimits.DiskBytes))}";
        return "no live node can ever run it: no node fits all of its limits at once";
    }

    private static long Largest(long memory, long max) => max > 0 ? Math.Min(memory, max) : memory;

    private static string Describe(double ask) => ask > 0 ? ask.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unlimited";

    /// <summary>A node's room while one placement round fills it.</summary>
    private sealed class Room(NodeCapacity node)
    {
        public NodeCapacity Node { get; } = node;
        public int FreeSlots { get; private set; } = node.FreeSlots;
        public long FreeMemory { get; private set; } = node.FreeMemory;

        public void Take(long memory)
        {
            FreeSlots--;
            FreeMemory -= memory;
        }

        // Lower share of slots in use wins; then more free memory; then a hash of job and node,
        // so equally loaded nodes share the work without the prime remembering anything.
        public bool IsBetterFor(ulong jobSeed, Room other)
        {
            var mine = (double)(Node.Slots - FreeSlots) / Node.Slots;
            var theirs = (double)(other.Node.Slots - other.FreeSlots) / other.Node.Slots;
            if (mine != theirs)
                return mine < theirs;
            if (FreeMemory != other.FreeMemory)
                return FreeMemory > other.FreeMemory;
            var (a, b) = (Affinity(jobSeed, Node.Name), Affinity(jobSeed, other.Node.Name));
            return a != b ? a < b : string.CompareOrdinal(Node.Name, other.Node.Name) < 0;
        }

        // FNV-1a of "JOB/NODE" (stable across processes, as string.GetHashCode is not), in two steps: the job's part
        // once per job, each node's part per comparison, so choosing among a thousand nodes allocates nothing. FNV-1a
        // alone mixes the last characters (a node name's number) into the high bits poorly: with a thousand idle nodes
        // named alike, three in four never had the lowest hash of any job. MurmurHash3's finalizer mixes every bit.
        public static ulong Seed(string jobId) => Continue(Continue(14695981039346656037UL, jobId), "/");

        private static ulong Affinity(ulong jobSeed, string node) => Mix(Continue(jobSeed, node));

        private static ulong Mix(ulong hash)
        {
            hash = (hash ^ (hash >> 33)) * 0xff51afd7ed558ccdUL;
            hash = (hash ^ (hash >> 33)) * 0xc4ceb9fe1a85ec53UL;
            return hash ^ (hash >> 33);
        }

        private static ulong Continue(ulong hash, string text)
        {
            foreach (var c in text)
                hash = (hash ^ c) * 1099511628211UL;
            return hash;
        }
    }
}
