using System.Diagnostics;

namespace Lcluster.Bench;

/// <summary>Slurm's CPU time per completed job, by where it went (cgroup v2 counters, so slurmstepds are included).</summary>
internal sealed record SlurmCpuPerJob(double SlurmctldMs, double SlurmdMs, double MungedMs, double SubmitMs)
{
    /// <summary>slurmctld + slurmd (with its slurmstepds and the jobs themselves) + munged: Slurm's side, without the user's loop.</summary>
    public double SlurmMs => SlurmctldMs + SlurmdMs + MungedMs;
}

/// <summary>
/// What the anchor measured. JobsPerSecond — N jobs submitted by N separate sbatch calls, as a
/// user's loop would, from the first submission to the last job finished — is the anchor; it is
/// null when Slurm is not installed or did not work here, and Reason then says why and what to do.
/// </summary>
internal sealed record SlurmAnchorResult(
    int Jobs, double? JobsPerSecond, string? Reason, double? ArrayJobsPerSecond, TimeSpan? Setup, SlurmCpuPerJob? CpuPerJob, string? CpuReason)
{
    public static SlurmAnchorResult Unavailable(int jobs, string reason) => new(jobs, null, reason, null, null, null, null);
}

/// <summary>Slurm did not start or did not run the jobs; the message says what happened.</summary>
internal sealed class SlurmException(string message) : Exception(message);

/// <summary>
/// The bench's Slurm anchor: a throwaway single-node Slurm (Debian's slurm-wlm) in its fastest setup
/// (see SlurmConfig) on this machine, N trivial jobs (`true`) through it, everything torn down after.
/// One call: <c>var slurm = await SlurmAnchor.TryMeasureAsync(scratchDir, jobs: 300, ct);</c>
/// </summary>
internal static class SlurmAnchor
{
    public const int Cpus = 2;
    private const int WarmUpJobs = 20;
    private static readonly TimeSpan RoundTimeout = TimeSpan.FromMinutes(5);

    public static async Task<SlurmAnchorResult> TryMeasureAsync(string scratchDir, int jobs, CancellationToken ct)
    {
        if (!Environment.IsPrivilegedProcess)
            return SlurmAnchorResult.Unavailable(jobs, "the Slurm anchor runs slurmctld and slurmd as root: run the bench as root");
        var missing = SlurmCluster.MissingPrograms();
        if (missing.Count > 0)
            return SlurmAnchorResult.Unavailable(jobs,
                $"slurm-wlm is not installed (no {string.Join(", ", missing)}): apt-get install slurm-wlm munge (or make bench-deps)");

        var setupWatch = Stopwatch.StartNew();
        SlurmCluster cluster;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                cluster = await SlurmCluster.StartAsync(scratchDir, Cpus, Math.Max(1001, jobs + 1), ct);
                break;
            }
            // A port found free can be taken by some connection before slurmctld or slurmd binds it: pick new ones once.
            catch (SlurmException e) when (attempt == 1 && e.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"bench: slurm: a port was taken before Slurm bound it; starting again on others ({e.Message})");
                setupWatch.Restart();
            }
            catch (SlurmException e)
            {
                return SlurmAnchorResult.Unavailable(jobs, $"Slurm did not start: {e.Message}");
            }
        }
        var setup = setupWatch.Elapsed;
        Console.Error.WriteLine($"bench: slurm: up in {setup.TotalSeconds:F2} s ({cluster.Layout.Root})");

        await using (cluster)
        {
            using var log = new SlurmJobLog(cluster.Layout.JobCompLog);
            try
            {
                // Not timed: the first jobs pay for reading Slurm's binaries and plugins from disk.
                await RoundAsync(cluster, log, "warm-up", SeparateSubmissions(WarmUpJobs), WarmUpJobs, ct);
                var before = cluster.Cpu?.UsageOfAll();
                var separate = await RoundAsync(cluster, log, $"{jobs} separate sbatch", SeparateSubmissions(jobs), jobs, ct);
                var after = cluster.Cpu?.UsageOfAll();
                var array = await RoundAsync(cluster, log, $"one sbatch --array of {jobs}", $"sbatch --array=1-{jobs} --wrap=true", jobs, ct);
                return new SlurmAnchorResult(jobs, separate, null, array, setup, PerJob(before, after, jobs), cluster.CpuUnavailable);
            }
            catch (SlurmException e)
            {
                return SlurmAnchorResult.Unavailable(jobs, $"Slurm did not run the jobs: {e.Message}") with { Setup = setup };
            }
        }
    }

    /// <summary>What a user types to submit N jobs one by one.</summary>
    private static string SeparateSubmissions(int jobs) => $"for i in $(seq {jobs}); do sbatch --wrap=true || exit 1; done";

    /// <summary>Jobs per second from the start of the submitting script to no job left pending, running or completing.</summary>
    private static async Task<double> RoundAsync(SlurmCluster cluster, SlurmJobLog log, string name, string submit, int jobs, CancellationToken ct)
    {
        log.Skip();
        var machine = BenchDaemon.MachineCpu();
        var watch = Stopwatch.StartNew();
        await cluster.RunShellAsync(submit, "submit", ct);
        var submitted = watch.Elapsed;
        await log.WaitForAsync(jobs, RoundTimeout, ct);
        // Only now, with every job logged as finished, is squeue asked (about the last epilogs).
        await cluster.WaitForEmptyQueueAsync(TimeSpan.FromSeconds(30), ct);
        var rate = jobs / watch.Elapsed.TotalSeconds;
        // How busy the whole machine was tells whether other work there slowed Slurm down.
        var busy = (BenchDaemon.MachineCpu() - machine) / watch.Elapsed;
        Console.Error.WriteLine($"bench: slurm: {name}: submitted in {submitted.TotalSeconds:F2} s, all done in {watch.Elapsed.TotalSeconds:F2} s: " +
            $"{rate:F1} jobs/s (machine busy {busy:F1} of {Environment.ProcessorCount} cores)");
        return rate;
    }

    private static SlurmCpuPerJob? PerJob(IReadOnlyDictionary<string, TimeSpan>? before, IReadOnlyDictionary<string, TimeSpan>? after, int jobs)
    {
        if (before is null || after is null)
            return null;
        double Ms(string member) => (after[member] - before[member]).TotalMilliseconds / jobs;
        return new SlurmCpuPerJob(Ms("slurmctld"), Ms("slurmd"), Ms("munged"), Ms("submit"));
    }
}
