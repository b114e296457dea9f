using System.Diagnostics;
using Lcluster.Runtime;

namespace Lcluster.Bench;

/// <summary>
/// docs/spec.md §5: start-to-exit of /bin/true in a full container, ours (StartAsync
/// until Completion, cleanup included) against `runc run` on the same rootfs
/// with an equally isolated bundle (process start until exit). The headline
/// runs alternate between the two, each from a quiet node (our init pool full,
/// as it is whenever starts do not come back to back; runc with nothing
/// running), so both see the same machine. Back to back, with no pause and our
/// pool refilling under the next start, is reported beside it.
/// </summary>
internal sealed class StartLatency : IBenchmark
{
    private const int WarmUps = 5;
    private static readonly Limits JobLimits = new() { MemoryBytes = 256 << 20, Cpus = 1.0, Pids = 64 };

    public string Name => "start-latency";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context, CancellationToken ct)
    {
        var output = Path.Combine(context.Scratch, "out");
        Directory.CreateDirectory(output);
        await using var sandbox = new Sandbox(new SandboxOptions
        {
            InitProgram = context.InitProgram,
            WorkDirectory = Path.Combine(context.Scratch, "jobs"),
            CgroupParent = $"lcluster-bench/{context.Id}",
        });
        var runc = BenchContext.FindProgram("runc") is { } path ? new Runc(path, context, JobLimits) : null;
        try
        {
            return await MeasureAsync(sandbox, runc, context, output, ct);
        }
        finally
        {
            runc?.RemoveCgroupParent();
        }
    }

    private static async Task<IReadOnlyList<Figure>> MeasureAsync(Sandbox sandbox, Runc? runc, BenchContext context, string output, CancellationToken ct)
    {
        var jobs = 0;
        Task<double> Ours() => OnceAsync(sandbox, context, output, $"start-{jobs++}", ct);
        for (var i = 0; i < WarmUps; i++)
        {
            await Ours();
            if (runc is not null)
                await runc.OnceAsync(ct);
        }
        var (ours, theirs) = (new List<double>(), new List<double>());
        for (var i = 0; i < context.Runs; i++)
        {
            await sandbox.WaitForPrestartedInitsAsync();
            if (runc is not null && i % 2 == 1)
                theirs.Add(await runc.OnceAsync(ct));
            ours.Add(await Ours());
            await sandbox.WaitForPrestartedInitsAsync();
            if (runc is not null && i % 2 == 0)
                theirs.Add(await runc.OnceAsync(ct));
        }
        var (oursBackToBack, theirsBackToBack) = (new List<double>(), new List<double>());
        for (var i = 0; i < context.Runs; i++)
            oursBackToBack.Add(await Ours());
        for (var i = 0; runc is not null && i < context.Runs; i++)
            theirsBackToBack.Add(await runc.OnceAsync(ct));

        var title = $"start-to-exit of /bin/true, median of {context.Runs}";
        var oursMedian = BenchContext.Median(ours);
        if (runc is null)
            return [new Figure(title, FigureTable.Milliseconds(oursMedian), "runc absent", "≤ runc", "skipped (no runc on PATH)")];
        var theirsMedian = BenchContext.Median(theirs);
        var ratio = oursMedian / theirsMedian;
        var backToBack = BenchContext.Median(oursBackToBack) / BenchContext.Median(theirsBackToBack);
        return
        [
            new Figure(title, FigureTable.Milliseconds(oursMedian), $"runc {FigureTable.Milliseconds(theirsMedian)}", "≤ runc",
                FigureTable.Verdict(oursMedian <= theirsMedian)),
            new Figure("  ratio ours / runc", $"{ratio:F2}", "1.00", "≤ 1.0", FigureTable.Verdict(ratio <= 1.0)),
            new Figure("  p90", FigureTable.Milliseconds(Percentile(ours, 0.9)), $"runc {FigureTable.Milliseconds(Percentile(theirs, 0.9))}", "", "info"),
            new Figure("  back to back, median", FigureTable.Milliseconds(BenchContext.Median(oursBackToBack)),
                $"runc {FigureTable.Milliseconds(BenchContext.Median(theirsBackToBack))}", "", $"info: ratio {backToBack:F2}"),
        ];
    }

    private static async Task<double> OnceAsync(Sandbox sandbox, BenchContext context, string output, string jobId, CancellationToken ct)
    {
        var spec = new SandboxSpec
        {
            JobId = jobId, RootFs = context.RootFs, Command = "/bin/true", Hostname = jobId, Limits = JobLimits,
            StdoutPath = Path.Combine(output, jobId + ".out"), StderrPath = Path.Combine(output, jobId + ".err"),
        };
        var watch = Stopwatch.StartNew();
        var container = await sandbox.StartAsync(spec, ct);
        var result = await container.Completion;
        watch.Stop();
        if (result.ExitCode != 0 || result.InfrastructureFailure is not null)
            throw new InvalidOperationException($"our /bin/true container failed: {result}");
        return watch.Elapsed.TotalMilliseconds;
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}
