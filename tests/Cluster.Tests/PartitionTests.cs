using System.Text.Json;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Cluster.Tests;

/// <summary>docs/failures.md, scenario 3: a node is cut off from etcd and the other nodes past its lease, then comes back.</summary>
public sealed class PartitionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_node_cut_off_past_its_lease_is_treated_as_dead_and_on_return_kills_its_stale_jobs_and_registers_again()
    {
        await using var cluster = await ThreeNodes.StartAsync("--slots=2", "--lease-ttl=2s", "--fence-timeout=4s");
        var prime = await cluster.PrimeAsync(0);
        var victim = (prime + 1) % 3;
        var victimName = cluster.NameOf(victim);
        var ns = cluster.Nodes[prime].Namespace!;
        var server = cluster.Nodes[prime].Server;

        var plain = await BulkSubmit.AddAsync(ns, server, 3, "sleep 30");
        await cluster.WaitRunningAsync(prime, plain);
        var retried = await BulkSubmit.AddAsync(ns, server, 3, "sleep 4", retries: 1);
        var running = await cluster.WaitRunningAsync(prime, [.. plain, .. retried]);
        var victimPlain = running.Single(j => plain.Contains(j.Key) && j.Value == victimName).Key;
        var victimRetried = running.Single(j => retried.Contains(j.Key) && j.Value == victimName).Key;

        var cutAt = DateTimeOffset.UtcNow;
        await cluster.Lab.CutAsync(cluster.Lab.Nodes[victim]);
        var moved = await cluster.WaitJobAsync(prime, victimRetried, j => j.GetProperty("attempts").GetInt32() == 2 && j.GetProperty("state").GetString() == "running", TimeSpan.FromSeconds(30));
        output.WriteLine($"{victimName} cut off at {cutAt:HH:mm:ss.fff}; its job with retries ran again on {moved.GetProperty("node").GetString()} at {moved.GetProperty("started_at").GetString()}: {(DateTimeOffset.Parse(moved.GetProperty("started_at").GetString()!) - cutAt).TotalSeconds:F2} s later");
        var lost = await cluster.WaitJobAsync(prime, victimPlain, j => j.GetProperty("state").GetString() == "lost", TimeSpan.FromSeconds(10));
        Assert.Contains(victimName, lost.GetProperty("reason").GetString());
        // Past the fence timeout the cut-off node must have killed its jobs itself, though it cannot tell anyone.
        await Task.Delay(TimeSpan.FromSeconds(3));
        // (The job with retries may already run again on another node: look at what the cut-off node holds.)
        Assert.True(HostProcesses.OfJob(victimPlain).Count == 0 && HostProcesses.Under($"lcluster/{victimName}").Count == 0,
            $"{victimName} still runs its jobs after the fence timeout\n{cluster.Nodes[victim].LogTail(30)}");

        await cluster.Lab.ReconnectAsync(cluster.Lab.Nodes[victim]);
        var back = await WaitForNodeCountAsync(cluster, prime, 3, TimeSpan.FromSeconds(20));
        output.WriteLine($"{victimName} registered again {(DateTimeOffset.UtcNow - cutAt).TotalSeconds:F1} s after the cut");

        var all = await cluster.WaitAllFinishedAsync(prime, [.. plain, .. retried], TimeSpan.FromMinutes(2));
        await Task.Delay(TimeSpan.FromSeconds(2)); // any stale write from the returned node would land by now
        var after = await cluster.WaitAllFinishedAsync(prime, [.. plain, .. retried], TimeSpan.FromSeconds(5));
        foreach (var id in all.Keys)
            Assert.Equal(all[id].ToString(), after[id].ToString());
        Assert.Equal("lost", all[victimPlain].GetProperty("state").GetString());
        Assert.Equal(1, all[victimPlain].GetProperty("attempts").GetInt32());
        Assert.Equal("succeeded", all[victimRetried].GetProperty("state").GetString());
        Assert.NotEqual(victimName, all[victimRetried].GetProperty("node").GetString());
        Assert.Equal(2, all[victimRetried].GetProperty("attempts").GetInt32());
        var log = cluster.Nodes[victim].LogText();
        Assert.Contains("no contact with etcd", log);
        Assert.Contains("registered again", log);

        // And it takes new work.
        var fresh = await BulkSubmit.AddAsync(ns, server, 6, "true");
        var done = await cluster.WaitAllFinishedAsync(prime, fresh, TimeSpan.FromSeconds(60));
        Assert.All(done.Values, j => Assert.Equal("succeeded", j.GetProperty("state").GetString()));
    }

    private static async Task<int> WaitForNodeCountAsync(ThreeNodes cluster, int via, int count, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var nodes = JsonDocument.Parse((await cluster.RunAsync(via, "--nodes", "--json")).Stdout).RootElement.GetArrayLength();
            if (nodes == count)
                return nodes;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"{nodes} nodes, not {count}\n{cluster.Logs()}");
            await Task.Delay(200);
        }
    }

}
