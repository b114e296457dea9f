using System.Text.Json;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Cluster.Tests;

/// <summary>docs/failures.md, scenario 2: a node that is not prime dies while it runs jobs and holds a scheduled one.</summary>
public sealed class NodeDeathTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_dead_nodes_scheduled_job_runs_elsewhere_its_running_jobs_end_lost_or_run_again_with_retries()
    {
        await using var cluster = await ThreeNodes.StartAsync("--slots=3", "--lease-ttl=2s", "--fence-timeout=4s");
        var prime = await cluster.PrimeAsync(0);
        var victim = (prime + 1) % 3;
        var via = prime;
        var victimName = cluster.NameOf(victim);

        // Two long jobs per node (placement spreads them): on every node one plain, one with --retries=1.
        // One finished job per node first: its output must outlive its node.
        var early = await BulkSubmit.AddAsync(cluster.Nodes[via].Namespace!, cluster.Nodes[via].Server, 3, "echo kept-after-death");
        var finished = await cluster.WaitAllFinishedAsync(via, early, TimeSpan.FromSeconds(30));
        var finishedOnVictim = finished.Single(j => j.Value.GetProperty("node").GetString() == victimName).Key;

        // (Placement fills the emptiest node first, so each batch of three lands one per node.)
        var plain = await BulkSubmit.AddAsync(cluster.Nodes[via].Namespace!, cluster.Nodes[via].Server, 3, "sleep 6");
        await WaitForRunningOnAsync(cluster, via, plain, victimName, 1);
        var retried = await BulkSubmit.AddAsync(cluster.Nodes[via].Namespace!, cluster.Nodes[via].Server, 3, "sleep 6", retries: 1);
        var onVictim = await WaitForRunningOnAsync(cluster, via, [.. plain, .. retried], victimName, 2);
        Assert.Single(onVictim, plain.Contains);
        output.WriteLine($"running on {victimName}: {string.Join(", ", onVictim)}");

        // Freeze the victim, fill the last free slot of every node: one job lands on the victim and stays scheduled.
        await cluster.Nodes[victim].PauseAsync();
        var shorts = await BulkSubmit.AddAsync(cluster.Nodes[via].Namespace!, cluster.Nodes[via].Server, 3, "echo short");
        var scheduled = await WaitForPlacementOnAsync(cluster.Nodes[prime], shorts, victimName);
        var killedAt = DateTimeOffset.UtcNow;
        await cluster.KillMachineAsync(victim); // SIGKILL ends it stopped: it never wakes to start that job

        var all = await cluster.WaitAllFinishedAsync(via, [.. plain, .. retried, .. shorts], TimeSpan.FromMinutes(2));

        var moved = all[scheduled];
        Assert.Equal("succeeded", moved.GetProperty("state").GetString());
        Assert.NotEqual(victimName, moved.GetProperty("node").GetString());
        Assert.Equal(1, moved.GetProperty("attempts").GetInt32());
        foreach (var id in onVictim)
        {
            var job = all[id];
            if (plain.Contains(id))
            {
                Assert.True(job.GetProperty("state").GetString() == "lost", job.ToString());
                Assert.Contains(victimName, job.GetProperty("reason").GetString());
                Assert.Equal(1, job.GetProperty("attempts").GetInt32());
            }
            else
            {
                Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
                Assert.NotEqual(victimName, job.GetProperty("node").GetString());
                Assert.Equal(2, job.GetProperty("attempts").GetInt32());
                var rerun = DateTimeOffset.Parse(job.GetProperty("started_at").GetString()!) - killedAt;
                output.WriteLine($"job {id} (retries 1) started again on {job.GetProperty("node").GetString()} {rerun.TotalSeconds:F2} s after {victimName} died");
            }
        }
        // Its files died with it; the tail kept with the record did not.
        Assert.Equal("kept-after-death\n", (await cluster.RunAsync(via, $"--output={finishedOnVictim}")).Stdout);
        foreach (var (id, job) in all.Where(j => !onVictim.Contains(j.Key) && j.Key != scheduled))
        {
            Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
            Assert.Equal(1, job.GetProperty("attempts").GetInt32());
        }
    }

    private static async Task<IReadOnlyList<string>> WaitForRunningOnAsync(ThreeNodes cluster, int via, IReadOnlyCollection<string> ids, string node, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var jobs = await cluster.ListAsync(via, ids);
            if (jobs.Count(j => j.GetProperty("state").GetString() == "running") == ids.Count)
            {
                var here = jobs.Where(j => j.GetProperty("node").GetString() == node).Select(j => j.GetProperty("id").GetString()!).ToList();
                Assert.True(here.Count == count, $"{node} runs {here.Count} of the long jobs, not {count}: {string.Join("\n", jobs)}");
                return here;
            }
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"the long jobs did not all run: {string.Join("\n", jobs)}\n{cluster.Logs()}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// The job of <paramref name="ids"/> the prime placed on <paramref name="node"/>, from the prime's log: the placement
    /// is seen however briefly the record stays scheduled (the victim's lease may run out first, on a slow machine).
    /// </summary>
    private static async Task<string> WaitForPlacementOnAsync(DaemonProcess prime, IReadOnlyCollection<string> ids, string node)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var log = prime.LogText();
            if (ids.FirstOrDefault(id => log.Contains($"job {id} scheduled on {node}\n", StringComparison.Ordinal)) is { } placed)
                return placed;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"no job of {string.Join(", ", ids)} placed on {node} in 30 s:\n{prime.LogTail()}");
            await Task.Delay(20);
        }
    }

}
