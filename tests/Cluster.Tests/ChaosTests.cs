using Lcluster.TestSupport.Chaos;
using Xunit.Abstractions;

namespace Lcluster.Cluster.Tests;

/// <summary>
/// `make chaos` in small (docs/testing.md): the same harness, a fixed seed, 3 daemons around a three-member etcd,
/// about a minute of faults, so the harness and the checker cannot rot between long runs.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_short_seeded_chaos_run_breaks_none_of_the_promises()
    {
        var report = await ChaosRun.RunAsync(new ChaosOptions
        {
            Seed = 20261129,
            Duration = TimeSpan.FromSeconds(60),
            Jobs = 150,
            Daemons = 3,
            Clients = 3,
            SettleTimeout = TimeSpan.FromMinutes(2),
            KeepDir = Environment.GetEnvironmentVariable("LCLUSTER_KEEP_LOGS") is { Length: > 0 } keep ? Path.Combine(keep, "chaos") : null,
            Log = output.WriteLine,
        });
        output.WriteLine(report.Summary());

        Assert.True(report.Faults.Values.Sum() >= 5, $"too few faults to mean anything\n{report.Summary()}");
        Assert.True(report.Acknowledged >= report.Submitted / 2, $"most submissions should be acknowledged\n{report.Summary()}");
        Assert.True(report.Runs >= report.Acknowledged / 2, $"the container logs show too few runs\n{report.Summary()}");
        Assert.True(report.Violations.Count == 0, report.Summary());
    }
}
