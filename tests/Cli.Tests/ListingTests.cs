using System.Text.Json;

namespace Lcluster.Cli.Tests;

[Collection("single node")]
public sealed class ListingTests(SingleNode node)
{
    [Fact]
    public async Task Listjobs_shows_jobs_newest_first_and_filters_by_state()
    {
        var first = await node.AddAsync("--addjob=true", "--name=first");
        var second = await node.AddAsync("--addjob=exit 1", "--name=second");
        await node.WaitForStateAsync(first, TimeSpan.FromSeconds(30), "succeeded");
        await node.WaitForStateAsync(second, TimeSpan.FromSeconds(30), "failed");

        var all = JsonDocument.Parse((await node.RunAsync("--listjobs", "--json")).Stdout).RootElement;
        var ids = all.EnumerateArray().Select(j => j.GetProperty("id").GetString()).ToList();
        Assert.True(ids.IndexOf(second) < ids.IndexOf(first), $"not newest first: {string.Join(",", ids)}");

        var failed = JsonDocument.Parse((await node.RunAsync("--listjobs", "--json", "--state=failed")).Stdout).RootElement;
        Assert.All(failed.EnumerateArray(), j => Assert.Equal("failed", j.GetProperty("state").GetString()));
        Assert.Contains(failed.EnumerateArray(), j => j.GetProperty("id").GetString() == second);

        var table = await node.RunAsync("--listjobs", "--limit=2");
        var lines = table.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(0, table.ExitCode);
        Assert.StartsWith("ID", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.Equal(lines[0].IndexOf("STATE"), lines[1].IndexOf(lines[1].Split("  ", StringSplitOptions.RemoveEmptyEntries)[2].Trim()));
    }

    [Fact]
    public async Task Nodes_lists_this_node_as_the_one_prime_with_its_slots()
    {
        var json = await node.RunAsync("--nodes", "--json");
        var nodes = JsonDocument.Parse(json.Stdout).RootElement.EnumerateArray().ToList();

        var solo = Assert.Single(nodes);
        Assert.Equal(node.Daemon.NodeName, solo.GetProperty("name").GetString());
        Assert.True(solo.GetProperty("prime").GetBoolean());
        Assert.Equal(2, solo.GetProperty("slots").GetInt32());
        Assert.Equal(node.Daemon.Address, solo.GetProperty("address").GetString());
        Assert.True(solo.GetProperty("memory_bytes").GetInt64() > 0);

        var table = await node.RunAsync("--nodes");
        Assert.Matches(@"NAME\s+ADDRESS\s+PRIME\s+SLOTS", table.Stdout);
        Assert.Matches($@"{node.Daemon.NodeName}\s+127\.0\.0\.1:\d+\s+\*\s+\d/2", table.Stdout);
    }
}
