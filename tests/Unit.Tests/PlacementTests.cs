using Lcluster.Daemon.Prime;
using Lcluster.Daemon.Store;

namespace Lcluster.Unit.Tests;

public sealed class PlacementTests
{
    /// <summary>Placement as the prime runs it: the queue in placement order; the unfittable looked for among all of it.</summary>
    private static (IReadOnlyList<JobPlacement> Assignments, IReadOnlyDictionary<string, string> Unfittable) Run(IEnumerable<QueuedJob> queue, IReadOnlyCollection<NodeCapacity> nodes) =>
        (Placement.Place(queue.Order(Placement.Order), nodes), Placement.Unfittable(queue, nodes));

    private const long GiB = 1L << 30;
    private static readonly JobLimits NodeMax = new(64 * GiB, 8, 4096, 86400);

    [Fact]
    public void A_thousand_jobs_over_ten_mixed_nodes_fill_slots_in_priority_order()
    {
        var nodes = Enumerable.Range(0, 10)
            .Select(i => (Index: i, Slots: 1 + i % 4 * 3))
            .Select(n => new NodeCapacity($"node-{n.Index}", n.Slots, SlotsUsed: Math.Min(n.Index % 3, n.Slots), MemoryBytes: (4 + n.Index * 4) * GiB, MemoryReserved: 0, NodeMax))
            .ToList();
        var random = new Random(7);
        var queue = Enumerable.Range(0, 1000)
            .Select(i => new QueuedJob($"job-{i:0000}", Priority: random.Next(0, 5), Sequence: 1000 + i, new JobLimits(random.Next(1, 9) * 128L << 20, 0.5, 64, 60)))
            .ToList();

        var result = Run(queue, nodes);

        var freeSlots = nodes.Sum(n => n.FreeSlots);
        Assert.Equal(freeSlots, result.Assignments.Count);
        Assert.Empty(result.Unfittable);
        foreach (var node in nodes)
        {
            var placed = result.Assignments.Where(a => a.Node == node.Name).Select(a => queue.Single(q => q.Id == a.JobId)).ToList();
            Assert.True(placed.Count <= node.FreeSlots, $"{node.Name}: {placed.Count} jobs placed, {node.FreeSlots} slots free");
            Assert.True(placed.Sum(j => j.Limits.MemoryBytes) <= node.FreeMemory, $"{node.Name}: memory overbooked");
        }
        // Every placed job outranks every job left in the queue (memory never binds here).
        var placedIds = result.Assignments.Select(a => a.JobId).ToHashSet();
        var weakestPlaced = queue.Where(q => placedIds.Contains(q.Id)).Min(q => (q.Priority, -q.Sequence));
        var strongestLeft = queue.Where(q => !placedIds.Contains(q.Id)).Max(q => (q.Priority, -q.Sequence));
        Assert.True(weakestPlaced.CompareTo(strongestLeft) > 0, $"placed {weakestPlaced} while {strongestLeft} waits");
        Assert.Equal(result.Assignments.Count, placedIds.Count);
    }

    [Fact]
    public void Jobs_spread_over_idle_nodes_instead_of_piling_on_one()
    {
        var nodes = new[] { "a", "b", "c" }.Select(n => new NodeCapacity(n, 4, 0, 8 * GiB, 0, NodeMax)).ToList();
        var queue = Enumerable.Range(0, 6).Select(i => new QueuedJob($"j{i}", 0, i, new JobLimits(GiB, 1, 64, 60))).ToList();

        var result = Run(queue, nodes);

        Assert.Equal(6, result.Assignments.Count);
        Assert.All(nodes, n => Assert.Equal(2, result.Assignments.Count(a => a.Node == n.Name)));
    }

    [Fact]
    public void Jobs_placed_one_at_a_time_on_equal_idle_nodes_still_reach_every_node()
    {
        var nodes = new[] { "a", "b", "c" }.Select(n => new NodeCapacity(n, 2, 0, 8 * GiB, 0, NodeMax)).ToList();

        var chosen = Enumerable.Range(0, 30)
            .Select(i => Run([new QueuedJob($"3f2b8c1e-0000-4000-8000-{i:000000000000}", 0, i, new JobLimits(GiB, 1, 64, 60))], nodes).Assignments.Single().Node)
            .ToList();

        Assert.Equal(["a", "b", "c"], chosen.Distinct().Order());
    }

    [Fact]
    public void Jobs_placed_a_few_at_a_time_share_a_thousand_idle_nodes_named_alike_evenly()
    {
        // A prime that paces its rounds places a few hundred jobs at a time while most nodes are idle: which idle
        // node takes a job is then the job-and-node hash alone, and it must not favour some names.
        var nodes = Enumerable.Range(0, 1000).Select(i => new NodeCapacity($"scale-45294-h{i:0000}", 8, 0, 64 * GiB, 0, NodeMax)).ToList();
        var random = new Random(7);
        var bytes = new byte[16];
        var perNode = new Dictionary<string, int>();
        for (var i = 0; i < 20_000; i++)
        {
            random.NextBytes(bytes);
            var node = Run([new QueuedJob(new Guid(bytes).ToString(), 0, i, new JobLimits(GiB, 1, 64, 60))], nodes).Assignments.Single().Node;
            perNode[node] = perNode.GetValueOrDefault(node) + 1;
        }

        Assert.Equal(nodes.Count, perNode.Count); // every node took some
        Assert.InRange(perNode.Values.Max(), 20, 60); // none more than three times its share of 20
    }

    [Fact]
    public void A_job_no_live_node_could_ever_run_stays_queued_with_the_reason()
    {
        var nodes = new[] { new NodeCapacity("small", 2, 0, 2 * GiB, 0, NodeMax), new NodeCapacity("big", 2, 0, 16 * GiB, 0, NodeMax) };
        var huge = new QueuedJob("huge", 9, 1, new JobLimits(64 * GiB, 1, 64, 60));
        var normal = new QueuedJob("normal", 0, 2, new JobLimits(GiB, 1, 64, 60));

        var result = Run([huge, normal], nodes);

        Assert.Equal(["normal"], result.Assignments.Select(a => a.JobId));
        var reason = Assert.Contains("huge", result.Unfittable);
        Assert.Contains("64 GiB", reason);
        Assert.Contains("16 GiB", reason);
    }

    [Fact]
    public void A_job_over_every_nodes_cpu_maximum_is_unfittable_and_says_cpus()
    {
        var nodes = new[] { new NodeCapacity("n", 2, 0, 8 * GiB, 0, NodeMax with { Cpus = 2 }) };

        var result = Run([new QueuedJob("greedy", 0, 1, new JobLimits(GiB, 4, 64, 60))], nodes);

        Assert.Empty(result.Assignments);
        Assert.Contains("cpus", result.Unfittable["greedy"]);
    }

    [Fact]
    public void A_job_that_fits_only_later_waits_without_blocking_smaller_jobs_behind_it()
    {
        var nodes = new[] { new NodeCapacity("n", 4, 1, 8 * GiB, 6 * GiB, NodeMax) };
        var big = new QueuedJob("big", 5, 1, new JobLimits(4 * GiB, 1, 64, 60));
        var small = new QueuedJob("small", 0, 2, new JobLimits(GiB, 1, 64, 60));

        var result = Run([big, small], nodes);

        Assert.Equal(["small"], result.Assignments.Select(a => a.JobId));
        Assert.Empty(result.Unfittable);
    }

    [Fact]
    public void Full_nodes_take_nothing_and_no_nodes_place_nothing()
    {
        var full = new[] { new NodeCapacity("n", 2, 2, 8 * GiB, 0, NodeMax) };
        var job = new QueuedJob("j", 0, 1, new JobLimits(GiB, 1, 64, 60));

        Assert.Empty(Run([job], full).Assignments);
        Assert.Empty(Run([job], []).Assignments);
        Assert.Empty(Run([job], []).Unfittable);
    }

    [Fact]
    public void Equal_priorities_run_in_submission_order()
    {
        var nodes = new[] { new NodeCapacity("n", 2, 0, 8 * GiB, 0, NodeMax) };
        var queue = new[] { 30L, 10L, 20L }.Select(seq => new QueuedJob($"s{seq}", 1, seq, new JobLimits(GiB, 1, 64, 60)));

        var result = Run(queue, nodes);

        Assert.Equal(["s10", "s20"], result.Assignments.Select(a => a.JobId));
    }
}
