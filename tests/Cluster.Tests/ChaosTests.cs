using System.Diagnostics;
using System.Text.RegularExpressions;
using Lcluster.TestSupport;
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

    /// <summary>
    /// Ctrl-C on `make chaos` (docs/testing.md): the run stops in the middle of its faults and takes down every daemon,
    /// etcd member, network namespace and job cgroup it made, and starts nothing again once interrupted.
    /// </summary>
    [Fact]
    public async Task An_interrupted_chaos_run_leaves_no_daemon_etcd_member_namespace_or_cgroup_behind()
    {
        using var interrupt = new CancellationTokenSource();
        var serving = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = ChaosRun.RunAsync(new ChaosOptions
        {
            Seed = 20261201,
            Duration = TimeSpan.FromSeconds(60),
            Jobs = 100,
            Daemons = 2,
            Clients = 2,
            Log = line =>
            {
                output.WriteLine(line);
                if (Regex.Match(line, @"daemons serving \(([^)]*)\)") is { Success: true } names)
                    serving.TrySetResult(names.Groups[1].Value.Split(", "));
            },
        }, interrupt.Token);
        var nodes = await serving.Task.WaitAsync(TimeSpan.FromMinutes(3));
        // Into the faults: the first comes 2-6 s after the start, and the interrupt may find it held.
        await Task.Delay(TimeSpan.FromSeconds(8));
        interrupt.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run).WaitAsync(TimeSpan.FromMinutes(2));

        var lab = nodes[0].Split('-')[0]; // node names begin with their lab's id, as do its namespaces (lct-ID-...)
        Assert.Empty(HostProcesses.WithArgument($"--namespace=lct-{lab}-"));
        Assert.Empty(HostProcesses.WithArgument($"lcluster-test-{lab}"));
        Assert.DoesNotContain(await NamespacesAsync(), ns => ns.StartsWith($"lct-{lab}-", StringComparison.Ordinal));
        Assert.All(nodes, node => Assert.Empty(HostCgroups.Existing($"lcluster/{node}")));
    }

    private static async Task<string[]> NamespacesAsync()
    {
        using var ip = Process.Start(new ProcessStartInfo("ip", ["netns", "list"]) { RedirectStandardOutput = true })!;
        var text = await ip.StandardOutput.ReadToEndAsync();
        await ip.WaitForExitAsync();
        Assert.Equal(0, ip.ExitCode);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToArray();
    }
}
