namespace Lcluster.Bench;

/// <summary>
/// `--only slurm`: the Slurm anchor's figures alone, to check the anchor without
/// running the product's benchmarks. The figures go in the anchor column.
/// </summary>
internal sealed class SlurmBenchmark : IBenchmark
{
    private const int Jobs = 300;

    public string Name => "slurm";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context, CancellationToken ct)
    {
        var slurm = await SlurmAnchor.TryMeasureAsync(context.Scratch, Jobs, ct);
        var name = $"Slurm: trivial jobs completed/s ({Jobs} × `sbatch --wrap=true`, {SlurmAnchor.Cpus} CPUs)";
        if (slurm.JobsPerSecond is not { } rate)
            return [new Figure(name, "", "n/a", "", $"skipped: {slurm.Reason}")];
        var figures = new List<Figure>
        {
            new(name, "", $"{rate:F1}/s", "", "info"),
            new($"  same as one `sbatch --array=1-{Jobs}`", "", $"{slurm.ArrayJobsPerSecond:F1}/s", "", "info"),
            new("  setup: munged, slurmctld, slurmd up and the node idle", "", $"{slurm.Setup?.TotalSeconds:F2} s", "", "info"),
        };
        figures.Add(slurm.CpuPerJob is { } cpu
            ? new Figure("  CPU per completed job: slurmctld / slurmd, slurmstepd, job / munged (+ sbatch loop)", "",
                $"{cpu.SlurmMs:F1} ms: {cpu.SlurmctldMs:F1} / {cpu.SlurmdMs:F1} / {cpu.MungedMs:F1} (+ {cpu.SubmitMs:F1})", "", "info")
            : new Figure("  CPU per completed job", "", "n/a", "", $"skipped: {slurm.CpuReason}"));
        return figures;
    }
}
