using System.Globalization;
using System.Text.RegularExpressions;
using Lcluster.TestSupport;
using Xunit.Abstractions;

namespace Lcluster.Cluster.Tests;

/// <summary>docs/failures.md, scenario 1: the prime is SIGKILLed while 200 short jobs are queued or running.</summary>
public sealed class PrimeFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task A_killed_prime_is_replaced_within_a_lease_ttl_and_a_second_and_every_job_ends_once()
    {
        await using var cluster = await ThreeNodes.StartAsync($"--lease-ttl={LeaseTtl.TotalSeconds}s", "--fence-timeout=4s");
        var prime = await cluster.PrimeAsync(0);
        var via = (prime + 1) % 3;

        var ids = await BulkSubmit.AddAsync(cluster.Nodes[via].Namespace!, cluster.Nodes[via].Server, 200, "sleep 0.3");
        var killedAt = DateTimeOffset.UtcNow;
        await cluster.KillMachineAsync(prime);

        var jobs = await cluster.WaitAllFinishedAsync(via, ids, TimeSpan.FromMinutes(3));

        // The new prime: the first "is prime" line after the kill, on a surviving node.
        var newPrimeAt = Enumerable.Range(0, 3).Where(i => i != prime)
            .SelectMany(i => LogTimes(cluster.Nodes[i].LogText(), "is prime"))
            .Where(t => t > killedAt).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        var failover = newPrimeAt - killedAt;
        output.WriteLine($"failover: prime {cluster.NameOf(prime)} killed at {killedAt:HH:mm:ss.fff}, new prime at {newPrimeAt:HH:mm:ss.fff}: {failover.TotalSeconds:F2} s (lease TTL {LeaseTtl.TotalSeconds} s)");
        Assert.True(failover <= LeaseTtl + TimeSpan.FromSeconds(1), $"failover took {failover.TotalSeconds:F2} s\n{cluster.Logs()}");

        var states = jobs.Values.GroupBy(j => j.GetProperty("state").GetString()).ToDictionary(g => g.Key!, g => g.Count());
        output.WriteLine("final states: " + string.Join(", ", states.Select(s => $"{s.Key} {s.Value}")));
        foreach (var job in jobs.Values)
        {
            var state = job.GetProperty("state").GetString();
            var node = job.GetProperty("node").GetString();
            var attempts = job.GetProperty("attempts").GetInt32();
            Assert.True(state is "succeeded" or "lost", $"unexpected end: {job}");
            Assert.True(attempts <= 1, $"a job without retries ran twice: {job}");
            if (state == "lost")
                Assert.True(node == cluster.NameOf(prime) && job.GetProperty("reason").GetString()!.Contains(cluster.NameOf(prime)), $"lost on a node that did not die: {job}");
        }
        Assert.True(states.GetValueOrDefault("succeeded") >= 150, $"too few succeeded: {string.Join(", ", states)}");
    }

    /// <summary>The times of the log lines that contain <paramref name="text"/>.</summary>
    public static IEnumerable<DateTimeOffset> LogTimes(string log, string text) =>
        log.Split('\n').Where(l => l.Contains(text) && Regex.IsMatch(l, @"^\d{4}-"))
            .Select(l => DateTimeOffset.Parse(l[..l.IndexOf(' ')], CultureInfo.InvariantCulture));
}
