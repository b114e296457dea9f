using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Cluster.Tests;

/// <summary>docs/failures.md, scenario 4: etcd is stopped for 10 s and started again under three working nodes.</summary>
public sealed class EtcdOutageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_etcd_outage_refuses_new_jobs_with_unavailable_and_loses_nothing_that_ran_meanwhile()
    {
        await using var cluster = await ThreeNodes.StartAsync("--lease-ttl=2s", "--fence-timeout=30s");
        var ns = cluster.Nodes[0].Namespace!;
        var running = await BulkSubmit.AddAsync(ns, cluster.Nodes[0].Server, 3, "sleep 3; echo done");
        await WaitRunningAsync(cluster, running);

        await cluster.Etcd.StopAsync();
        var stoppedAt = DateTimeOffset.UtcNow;
        var refused = await cluster.RunAsync(1, "--addjob=echo too early");
        await Task.Delay(TimeSpan.FromSeconds(10) - (DateTimeOffset.UtcNow - stoppedAt));
        Assert.All(cluster.Nodes, n => Assert.True(n.IsRunning, $"a daemon died during the outage:\n{cluster.Logs()}"));
        await cluster.Etcd.StartAsync();
        output.WriteLine($"etcd down for {(DateTimeOffset.UtcNow - stoppedAt).TotalSeconds:F1} s; addjob meanwhile: {refused}");

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("etcd is unreachable", refused.Stderr);
        var jobs = await cluster.WaitAllFinishedAsync(0, running, TimeSpan.FromSeconds(60));
        foreach (var (id, job) in jobs)
        {
            Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
            Assert.Equal(1, job.GetProperty("attempts").GetInt32());
            Assert.Equal("done\n", (await cluster.RunAsync(0, $"--output={id}")).Stdout);
        }
        foreach (var (node, i) in cluster.Nodes.Select((n, i) => (n, i)))
        {
            var log = node.LogText();
            Assert.Contains("etcd unreachable", log);
            Assert.DoesNotContain("registered again", log);
        }

        var after = await BulkSubmit.AddAsync(ns, cluster.Nodes[0].Server, 3, "echo after");
        var done = await cluster.WaitAllFinishedAsync(0, after, TimeSpan.FromSeconds(30));
        Assert.All(done.Values, j => Assert.Equal("succeeded", j.GetProperty("state").GetString()));
        Assert.Equal(3, System.Text.Json.JsonDocument.Parse((await cluster.RunAsync(2, "--nodes", "--json")).Stdout).RootElement.GetArrayLength());
    }

    private static async Task WaitRunningAsync(ThreeNodes cluster, IReadOnlyCollection<string> ids)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var states = new List<string>();
            foreach (var id in ids)
                states.Add((await cluster.CheckAsync(0, id)).GetProperty("state").GetString()!);
            if (states.All(s => s == "running"))
                return;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"not running: {string.Join(",", states)}\n{cluster.Logs()}");
            await Task.Delay(100);
        }
    }
}
