using System.Diagnostics;
using Lcluster.V1;

namespace Lcluster.Bench;

/// <summary>
/// docs/spec.md §5 on one node with its embedded etcd, beside the two anchors measured in the
/// same run: trivial jobs completed per second through a user's submit loop (one
/// `lclusterc --addjob=true` process per job, as the Slurm anchor runs one `sbatch` per job),
/// against Slurm's; and the machine's CPU per completed job — daemon, etcd, containers and
/// kernel, not the submit loop — against the CPU of one `runc run /bin/true`.
/// </summary>
internal sealed class Throughput : IBenchmark
{
    private const int Jobs = 300;
    private const int RuncRuns = 30;
    private static readonly Runtime.Limits RuncLimits = new() { MemoryBytes = 256 << 20, Cpus = 1.0, Pids = 64 };

    public string Name => "throughput";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context, CancellationToken ct)
    {
        var ours = await OursAsync(context, ct);
        var runc = await RuncCpuAsync(context, ct);
        var slurm = await SlurmAnchor.TryMeasureAsync(Path.Combine(context.Scratch, "slurm"), Jobs, ct);

        var figures = new List<Figure>();
        var rateTitle = $"trivial jobs completed/s ({Jobs} × `lclusterc --addjob=true`, 2 slots)";
        if (slurm.JobsPerSecond is { } theirs)
        {
            var ratio = ours.JobsPerSecond / theirs;
            figures.Add(new Figure(rateTitle, $"{ours.JobsPerSecond:F1}/s", $"Slurm {theirs:F1}/s", "≥ 3 × Slurm", FigureTable.Verdict(ratio >= 3)));
            figures.Add(new Figure("  ratio ours / Slurm", $"{ratio:F2}", "1.00", "≥ 3.0", FigureTable.Verdict(ratio >= 3)));
            if (slurm.CpuPerJob is { } slurmCpu)
                figures.Add(new Figure("  Slurm's CPU per job: slurmctld / slurmd, stepd, job / munged", "",
                    $"{slurmCpu.SlurmMs:F1} ms: {slurmCpu.SlurmctldMs:F1} / {slurmCpu.SlurmdMs:F1} / {slurmCpu.MungedMs:F1}", "", "info"));
        }
        else
        {
            figures.Add(new Figure(rateTitle, $"{ours.JobsPerSecond:F1}/s", "Slurm n/a", "≥ 3 × Slurm", $"skipped: {slurm.Reason}"));
        }
        var cpuTitle = "machine CPU per completed job (daemon + etcd + container + kernel)";
        if (runc is { } runcCpu)
        {
            var ratio = ours.CpuPerJobMs / runcCpu;
            figures.Add(new Figure(cpuTitle, FigureTable.Milliseconds(ours.CpuPerJobMs), $"runc run {FigureTable.Milliseconds(runcCpu)}",
                "≤ 0.5 × runc", FigureTable.Verdict(ratio <= 0.5)));
            figures.Add(new Figure("  ratio ours / runc run", $"{ratio:F2}", "1.00", "≤ 0.5", FigureTable.Verdict(ratio <= 0.5)));
        }
        else
        {
            figures.Add(new Figure(cpuTitle, FigureTable.Milliseconds(ours.CpuPerJobMs), "runc absent", "≤ 0.5 × runc", "skipped (no runc on PATH)"));
        }
        figures.Add(new Figure("  of it daemon / etcd / containers and kernel", $"{ours.DaemonMs:F1} / {ours.EtcdMs:F1} / {ours.RestMs:F1} ms", "", "", "info"));
        figures.Add(new Figure("  the submit loop's own CPU per job (lclusterc)", FigureTable.Milliseconds(ours.SubmitMs), "", "", "info"));
        return figures;
    }

    private sealed record OurRun(double JobsPerSecond, double CpuPerJobMs, double DaemonMs, double EtcdMs, double RestMs, double SubmitMs);

    private static async Task<OurRun> OursAsync(BenchContext context, CancellationToken ct)
    {
        await using var daemon = await BenchDaemon.StartAsync(context, "throughput", "--slots=2");
        var ids = Path.Combine(context.Scratch, "throughput.ids");
        var lclusterc = Path.Combine(context.Repo, "bin", "lclusterc");
        await SubmitLoopAsync(lclusterc, daemon.Server, 10, ids, ct); // warm the pool and the page cache
        await WaitFinishedAsync(daemon, File.ReadAllLines(ids), ct);
        File.Delete(ids);

        var (machine, self, daemonCpu, etcdCpu) = (BenchDaemon.MachineCpu(), CpuSample.OfThisProcess(), daemon.DaemonCpu(), daemon.EtcdCpu());
        var start = DateTimeOffset.UtcNow;
        await SubmitLoopAsync(lclusterc, daemon.Server, Jobs, ids, ct);
        var lastFinished = await WaitFinishedAsync(daemon, File.ReadAllLines(ids), ct);
        var (machineAfter, selfAfter) = (BenchDaemon.MachineCpu(), CpuSample.OfThisProcess());

        double PerJob(TimeSpan total) => total.TotalMilliseconds / Jobs;
        // The bench's own CPU and its children's (the shell loop and its lclusterc processes) are the client, not the node.
        var client = PerJob(selfAfter.Own - self.Own + selfAfter.Children - self.Children);
        var submit = PerJob(selfAfter.Children - self.Children);
        var all = PerJob(machineAfter - machine) - client;
        var inDaemon = PerJob(daemon.DaemonCpu() - daemonCpu);
        var inEtcd = PerJob(daemon.EtcdCpu() - etcdCpu);
        return new OurRun(Jobs / (lastFinished - start).TotalSeconds, all, inDaemon, inEtcd, all - inDaemon - inEtcd, submit);
    }

    /// <summary>What a user types to submit N jobs one by one, each job's id appended to a file.</summary>
    private static async Task SubmitLoopAsync(string lclusterc, string server, int jobs, string ids, CancellationToken ct)
    {
        var loop = $"for i in $(seq {jobs}); do '{lclusterc}' --server={server} --addjob=true >>'{ids}' || exit 1; done";
        using var shell = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", loop]) { RedirectStandardError = true })!;
        var stderr = shell.StandardError.ReadToEndAsync(ct);
        await shell.WaitForExitAsync(ct);
        if (shell.ExitCode != 0)
            throw new InvalidOperationException($"the submit loop failed ({shell.ExitCode}): {await stderr}");
    }

    /// <summary>
    /// Waits until every job finished and returns when the last one did (its record's time).
    /// Jobs start in submission order, so it follows the last one, then checks them all once:
    /// polling every job would load the node it measures.
    /// </summary>
    private static async Task<DateTimeOffset> WaitFinishedAsync(BenchDaemon daemon, IReadOnlyList<string> ids, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(5);
        while (true)
        {
            var last = await daemon.Client.CheckJobAsync(new CheckJobRequest { Id = ids[^1] }, cancellationToken: ct);
            if (last.FinishedAt is not null)
                break;
            if (DateTimeOffset.UtcNow > deadline)
                throw new InvalidOperationException($"job {ids[^1]} did not finish within 5 minutes ({last.State}: {last.Reason})");
            await Task.Delay(50, ct);
        }
        var finished = DateTimeOffset.MinValue;
        foreach (var id in ids)
        {
            Job job;
            while ((job = await daemon.Client.CheckJobAsync(new CheckJobRequest { Id = id }, cancellationToken: ct)).FinishedAt is null)
                await Task.Delay(50, ct);
            if (job.State != JobState.Succeeded)
                throw new InvalidOperationException($"job {id} ended {job.State}: {job.Reason}");
            finished = job.FinishedAt.ToDateTimeOffset() > finished ? job.FinishedAt.ToDateTimeOffset() : finished;
        }
        return finished;
    }

    /// <summary>Machine CPU per `runc run /bin/true`, runc's own and the kernel's (the bench waits meanwhile); null without runc.</summary>
    private static async Task<double?> RuncCpuAsync(BenchContext context, CancellationToken ct)
    {
        if (BenchContext.FindProgram("runc") is not { } program)
            return null;
        var runc = new Runc(program, context, RuncLimits);
        try
        {
            await runc.OnceAsync(ct); // warm
            var (machine, self) = (BenchDaemon.MachineCpu(), CpuSample.OfThisProcess());
            for (var i = 0; i < RuncRuns; i++)
                await runc.OnceAsync(ct);
            var (machineAfter, selfAfter) = (BenchDaemon.MachineCpu(), CpuSample.OfThisProcess());
            return ((machineAfter - machine) - (selfAfter.Own - self.Own)).TotalMilliseconds / RuncRuns;
        }
        finally
        {
            runc.RemoveCgroupParent();
        }
    }

    /// <summary>This process's CPU (user + system) and its reaped children's, from /proc/self/stat.</summary>
    private sealed record CpuSample(TimeSpan Own, TimeSpan Children)
    {
        private const double TicksPerSecond = 100; // USER_HZ on Linux

        public static CpuSample OfThisProcess()
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            TimeSpan Ticks(int a, int b) => TimeSpan.FromSeconds((long.Parse(f[a]) + long.Parse(f[b])) / TicksPerSecond);
            return new CpuSample(Ticks(11, 12), Ticks(13, 14));
        }
    }
}
