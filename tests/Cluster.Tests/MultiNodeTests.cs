using System.Text.Json;

namespace Lcluster.Cluster.Tests;

public sealed class MultiNodeTests
{
    [Fact]
    public async Task Sixty_jobs_submitted_through_one_node_all_succeed_spread_over_all_three_nodes()
    {
        await using var cluster = await ThreeNodes.StartAsync();

        var ids = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            var added = await cluster.RunAsync(0, $"--addjob=echo job-{i}; sleep 0.2");
            Assert.True(added.ExitCode == 0, added.ToString());
            ids.Add(added.Stdout.Trim());
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        JsonElement[] jobs;
        while (true)
        {
            var list = await cluster.RunAsync(0, "--listjobs", "--json");
            jobs = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Where(j => ids.Contains(j.GetProperty("id").GetString()!)).ToArray();
            if (jobs.Length == 60 && jobs.All(j => j.GetProperty("state").GetString() is "succeeded" or "failed" or "lost" or "cancelled"))
                break;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"not all 60 jobs finished: {string.Join(", ", jobs.GroupBy(j => j.GetProperty("state").GetString()).Select(g => $"{g.Key} {g.Count()}"))}\n{cluster.Logs()}");
            await Task.Delay(250);
        }

        Assert.All(jobs, j => Assert.Equal("succeeded", j.GetProperty("state").GetString()));
        var perNode = jobs.GroupBy(j => j.GetProperty("node").GetString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([cluster.NameOf(0), cluster.NameOf(1), cluster.NameOf(2)], perNode.Keys.Order());

        var nodes = JsonDocument.Parse((await cluster.RunAsync(2, "--nodes", "--json")).Stdout).RootElement.EnumerateArray().ToList();
        Assert.Equal(3, nodes.Count);
        Assert.Single(nodes, n => n.GetProperty("prime").GetBoolean());

        // Output of a job that ran on node-b, read through node-a (proxied).
        var onB = jobs.First(j => j.GetProperty("node").GetString() == cluster.NameOf(1));
        var number = ids.IndexOf(onB.GetProperty("id").GetString()!);
        var output = await cluster.RunAsync(0, $"--output={onB.GetProperty("id").GetString()}");
        Assert.Equal($"job-{number}\n", output.Stdout);
    }
}
