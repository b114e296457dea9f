using System.Text.Json;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Cluster.Tests;

/// <summary>Issue 4, scenario 3: a node is cut off from etcd and the other nodes past its lease, then comes back.</summary>
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
        await WaitRunningAsync(cluster, prime, plain);
        var retried = await BulkSubmit.AddAsync(ns, server, 3, "sleep 4", retries: 1);
        var running = await WaitRunningAsync(cluster, prime, [.. plain, .. retried]);
        var victimPlain = running.Single(j => plain.Contains(j.Key) && j.Value == victimName).Key;
        var victimRetried = running.Single(j => retried.Contains(j.Key) && j.Value == victimName).Key;

        var cutAt = DateTimeOffset.UtcNow;
        await cluster.Lab.CutAsync(cluster.Lab.Nodes[victim]);
        var moved = await WaitAsync(cluster, prime, victimRetried, j => j.GetProperty("attempts").GetInt32() == 2 && j.GetProperty("state").GetString() == "running", TimeSpan.FromSeconds(30));
        output.WriteLine($"{victimName} cut off at {cutAt:HH:mm:ss.fff}; its job with retries ran again on {moved.GetProperty("node").GetString()} at {moved.GetProperty("started_at").GetString()}: {(DateTimeOffset.Parse(moved.GetProperty("started_at").GetString()!) - cutAt).TotalSeconds:F2} s later");
        var lost = await WaitAsync(cluster, prime, victimPlain, j => j.GetProperty("state").GetString() == "lost", TimeSpan.FromSeconds(10));
        Assert.Contains(victimName, lost.GetProperty("reason").GetString());
        // Past the fence timeout the cut-off node must have killed its jobs itself, though it cannot tell anyone.
        await Task.Delay(TimeSpan.FromSeconds(3));
        // (The job with retries may already run again on another node: look at what the cut-off node holds.)
        Assert.True(ProcessesOf(victimPlain).Count == 0 && ProcessesUnder($"lcluster/{victimName}").Count == 0,
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

    /// <summary>Processes in a cgroup subtree of the unified hierarchy (where every job cgroup has a twin).</summary>
    private static IReadOnlyList<int> ProcessesUnder(string path)
    {
        var root = Directory.Exists("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
        var dir = Path.Combine(root, path);
        if (!Directory.Exists(dir))
            return [];
        return Directory.EnumerateFiles(dir, "cgroup.procs", SearchOption.AllDirectories)
            .SelectMany(f => File.ReadAllLines(f)).Where(l => l.Length > 0).Select(int.Parse).ToList();
    }

    private static IReadOnlyList<int> ProcessesOf(string id)
    {
        var marker = System.Text.Encoding.ASCII.GetBytes($"LCLUSTER_JOB_ID={id}");
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                if (File.ReadAllBytes(Path.Combine(dir, "environ")).AsSpan().IndexOf(marker) >= 0)
                    found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone while we looked.
            }
        }
        return found;
    }

    private static async Task<Dictionary<string, string>> WaitRunningAsync(ThreeNodes cluster, int via, IReadOnlyCollection<string> ids)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var jobs = await ListAsync(cluster, via, ids);
            if (jobs.Count == ids.Count && jobs.All(j => j.GetProperty("state").GetString() == "running"))
                return jobs.ToDictionary(j => j.GetProperty("id").GetString()!, j => j.GetProperty("node").GetString()!);
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"not all running: {string.Join("\n", jobs)}\n{cluster.Logs()}");
            await Task.Delay(100);
        }
    }

    private static async Task<JsonElement> WaitAsync(ThreeNodes cluster, int via, string id, Func<JsonElement, bool> done, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var job = await cluster.CheckAsync(via, id);
            if (done(job))
                return job;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"job {id} did not get there: {job}\n{cluster.Logs()}");
            await Task.Delay(100);
        }
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

    private static async Task<List<JsonElement>> ListAsync(ThreeNodes cluster, int via, IReadOnlyCollection<string> ids)
    {
        var list = await cluster.RunAsync(via, "--listjobs", "--json", "--limit=100000");
        return JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Where(j => ids.Contains(j.GetProperty("id").GetString()!)).Select(j => j.Clone()).ToList();
    }
}
