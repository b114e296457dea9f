using Lcluster.Scale;

namespace Lcluster.Cluster.Tests;

/// <summary>
/// The scale simulator of `make scale`, run small so it cannot rot: hollow nodes around a real etcd and three API
/// nodes (the daemon itself, with a hollow executor), every job placed once, run once, succeeded, spread over the nodes.
/// </summary>
public sealed class ScaleSimulatorTests
{
    [Fact]
    public async Task Two_thousand_jobs_on_fifty_hollow_nodes_are_each_placed_and_run_exactly_once_spread_over_every_node()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var settings = new SimulationSettings
        {
            HollowNodes = 50, Jobs = 2000, ListSamples = 20, CheckSamples = 50, Deadline = TimeSpan.FromSeconds(60), EtcdHistory = TimeSpan.FromSeconds(5),
            IdleWindow = TimeSpan.FromSeconds(3),
        };

        var result = await Simulation.RunAsync(settings, _ => { }, timeout.Token);

        Assert.Empty(result.Errors);
        Assert.Equal(0, result.LeasesLost);
        Assert.Equal(2000, result.Submitted);
        Assert.Equal(2000, result.PlacedOnce);
        Assert.Equal(0, result.PlacedAgain);
        Assert.Equal(2000, result.RanOnce);
        Assert.Equal(0, result.RanAgain);
        Assert.Equal(2000, result.Succeeded);
        Assert.Equal(53, result.NodesUsed); // 50 hollow nodes (8 slots each) + 3 API nodes (1 slot)
        Assert.True(result.MostJobsOnANode <= 2000 / 50 * 3, $"one node ran {result.MostJobsOnANode} jobs: placement did not spread them");
        // Four writes a job: submitted, scheduled, running, ended; submissions arriving together share a Txn, up to 16
        // jobs, and so do the placements of a round, up to 15.
        Assert.InRange(result.WritesPerJob, 2 + 1.0 / 16 + 1.0 / 15, 4.2);
        // Acceptance alone writes at most one Txn a job (the held slots' few placements aside), at least one per 16 jobs.
        Assert.InRange(result.AcceptWritesPerJob, 1.0 / 16, 1.05);
        Assert.True(result.AcceptedPerSecond > 0 && result.PlacedPerSecond > 0);
        // Idle, among the API nodes alone, before the jobs and with them all retained: a round a second.
        Assert.InRange(result.IdleEmpty.Rounds, 2, 5);
        Assert.InRange(result.IdleRetained.Rounds, 2, 5);
    }
}
