using Lcluster.Daemon.Prime;
using Lcluster.Daemon.Store;

namespace Lcluster.Unit.Tests;

public sealed class ApplyPaceTests
{
    [Theory]
    [InlineData(0, 0, false)] // etcd has applied everything
    [InlineData(ApplyPace.MaxBacklog, 0, false)] // at the bound: place
    [InlineData(ApplyPace.MaxBacklog + 1, 0, true)] // behind: wait
    [InlineData(5_000, 1_999, true)] // far behind, the cap not reached
    [InlineData(5_000, 2_000, false)] // far behind, but the cap reached: place anyway
    public void The_prime_waits_only_while_etcd_is_behind_and_never_past_the_cap(long backlog, int waitedMs, bool waits) =>
        Assert.Equal(waits, ApplyPace.ShouldWait(backlog, TimeSpan.FromMilliseconds(waitedMs)));

    [Theory]
    [InlineData(0, false)] // nothing on its way
    [InlineData(ApplyPace.FewOnTheirWay, false)] // a few: what they owe etcd is far below the backlog it would wait for
    [InlineData(ApplyPace.FewOnTheirWay + 1, true)]
    [InlineData(ApplyPace.MaxUnstarted, true)] // a burst: every Txn asks first
    public void The_prime_reads_etcds_backlog_only_when_more_than_a_few_placements_are_on_their_way(int onTheirWay, bool reads) =>
        Assert.Equal(reads, ApplyPace.ReadsBacklog(onTheirWay));

    [Fact]
    public void A_burst_of_free_slots_is_placed_no_faster_than_the_nodes_start_what_they_were_given()
    {
        // A thousand nodes of eight slots join a long queue: a round places what the budget allows, not 8,000 jobs.
        var nodes = Enumerable.Range(0, 1000).Select(i => new NodeCapacity($"node-{i:0000}", 8, 0, 64L << 30, 0, new JobLimits(64L << 30, 8, 4096, 86400))).ToList();
        var queue = Enumerable.Range(0, 10_000).Select(i => new QueuedJob($"job-{i:00000}", 0, i, new JobLimits(64L << 20, 1, 64, 60))).ToList();

        var first = Placement.Place(queue, nodes, ApplyPace.Budget(unstarted: 0));
        Assert.Equal(ApplyPace.MaxUnstarted, first.Count);
        Assert.Equal(queue.Take(ApplyPace.MaxUnstarted).Select(j => j.Id), first.Select(p => p.JobId)); // the head of the queue, in order

        // None started yet: the next round places nothing; as nodes start theirs, it places as many more.
        Assert.Empty(Placement.Place(queue.Skip(first.Count), nodes, ApplyPace.Budget(unstarted: ApplyPace.MaxUnstarted)));
        Assert.Equal(100, Placement.Place(queue.Skip(first.Count), nodes, ApplyPace.Budget(unstarted: ApplyPace.MaxUnstarted - 100)).Count);
        Assert.Equal(0, ApplyPace.Budget(unstarted: ApplyPace.MaxUnstarted + 40)); // more than the budget (a new prime finds them): none, not fewer than none
    }

}
