using Lcluster.Daemon.Prime;
using Lcluster.Daemon.Store;
using Lcluster.V1;

namespace Lcluster.Unit.Tests;

public sealed class OrphanPolicyTests
{
    private static readonly TimeSpan Delay = Orphans.RetryDelay(fenceTimeout: TimeSpan.FromSeconds(30), leaseTtl: TimeSpan.FromSeconds(5));

    private static RunKey Run(string node, long incarnation, string id = "j") => new(node, id, new Assignment { NodeIncarnation = incarnation }, 1, 1);

    [Fact]
    public void A_run_key_of_a_node_that_is_gone_or_came_back_as_a_new_incarnation_is_an_orphan_and_says_which()
    {
        var members = new Dictionary<string, NodeRecord> { ["a"] = new() { Name = "a", Incarnation = 7 }, ["b"] = new() { Name = "b", Incarnation = 9 } };

        var orphans = Orphans.Find([Run("a", 7, "live"), Run("b", 8, "restarted"), Run("c", 3, "dead")], members);

        Assert.Equal(["restarted", "dead"], orphans.Select(o => o.Run.Id));
        Assert.Equal("node b restarted", orphans[0].Why);
        Assert.Equal("node c stopped responding", orphans[1].Why);
    }

    [Fact]
    public void A_running_job_that_may_be_retried_waits_until_its_node_has_surely_killed_it()
    {
        var job = JobRecords.Stored(JobState.Running, "a", 7, attempts: 1, retries: 2);

        Assert.False(Orphans.Due(job, orphanedFor: TimeSpan.Zero, Delay));
        Assert.False(Orphans.Due(job, orphanedFor: Delay - TimeSpan.FromMilliseconds(1), Delay));
        Assert.True(Orphans.Due(job, orphanedFor: Delay, Delay));
        Assert.Equal(TimeSpan.FromSeconds(26), Delay);
    }

    [Theory]
    [InlineData(JobState.Scheduled, 0, 2, false)]
    [InlineData(JobState.Running, 1, 0, false)]
    [InlineData(JobState.Running, 3, 2, false)]
    [InlineData(JobState.Running, 1, 2, true)]
    public void What_cannot_run_twice_is_settled_at_once(JobState state, int attempts, int retries, bool cancelRequested)
    {
        var job = JobRecords.Stored(state, "a", 7, attempts, retries, cancelRequested);

        Assert.True(Orphans.Due(job, orphanedFor: TimeSpan.Zero, Delay));
    }
}
