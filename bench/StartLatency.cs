using System.Diagnostics;
using Lcluster.Runtime;

namespace Lcluster.Bench;

/// <summary>
/// SPEC §5: start-to-exit of /bin/true in a full container, sequentially, ours
/// (StartAsync until Completion, cleanup included) against `runc run` on the
/// same rootfs with an equally isolated bundle (process start until exit).
/// </summary>
internal sealed class StartLatency : IBenchmark
{
    private const int WarmUps = 5;
    private static readonly Limits JobLimits = new() { MemoryBytes = 256 << 20, Cpus = 1.0, Pids = 64 };

    public string Name => "start-latency";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context, CancellationToken ct)
    {
        var ours = await MeasureSandboxAsync(context, ct);
        var runcPath = FindRunc();
        var title = $"start-to-exit of /bin/true, median of {context.Runs}";
        if (runcPath is null)
        {
            return [new Figure(title, FigureTable.Milliseconds(BenchContext.Median(ours)), "runc absent", "≤ runc", "skipped (no runc on PATH)")];
        }
        var runc = await MeasureRuncAsync(context, runcPath, ct);
        var (oursMedian, runcMedian) = (BenchContext.Median(ours), BenchContext.Median(runc));
        var ratio = oursMedian / runcMedian;
        return
        [
            new Figure(title, FigureTable.Milliseconds(oursMedian), $"runc {FigureTable.Milliseconds(runcMedian)}", "≤ runc",
                FigureTable.Verdict(oursMedian <= runcMedian)),
            new Figure("  ratio ours / runc", $"{ratio:F2}", "1.00", "≤ 1.0", FigureTable.Verdict(ratio <= 1.0)),
            new Figure("  p90", FigureTable.Milliseconds(Percentile(ours, 0.9)), $"runc {FigureTable.Milliseconds(Percentile(runc, 0.9))}", "", "info"),
        ];
    }

    private static async Task<List<double>> MeasureSandboxAsync(BenchContext context, CancellationToken ct)
    {
        var output = Path.Combine(context.Scratch, "out");
        Directory.CreateDirectory(output);
        await using var sandbox = new Sandbox(new SandboxOptions
        {
            InitProgram = context.InitProgram,
            WorkDirectory = Path.Combine(context.Scratch, "jobs"),
            CgroupParent = $"lcluster-bench/{context.Id}",
        });
        var times = new List<double>();
        for (var i = 0; i < WarmUps + context.Runs; i++)
        {
            var jobId = $"start-{i}";
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
            if (i >= WarmUps)
                times.Add(watch.Elapsed.TotalMilliseconds);
        }
        return times;
    }

    private static async Task<List<double>> MeasureRuncAsync(BenchContext context, string runc, CancellationToken ct)
    {
        var state = Path.Combine(context.Scratch, "runc-state");
        var times = new List<double>();
        try
        {
            for (var i = 0; i < WarmUps + context.Runs; i++)
            {
                var bundle = RuncBundle.Write(Path.Combine(context.Scratch, "runc-bundle"), context.RootFs, "/bin/true", JobLimits,
                    $"/lcluster-bench/{context.Id}-runc/c{i}");
                var start = new ProcessStartInfo(runc, ["--root", state, "run", "--bundle", bundle, $"lcluster-bench-{context.Id}-{i}"])
                {
                    RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
                };
                var watch = Stopwatch.StartNew();
                using var process = Process.Start(start)!;
                process.StandardInput.Close();
                var stderr = process.StandardError.ReadToEndAsync(ct);
                await process.StandardOutput.ReadToEndAsync(ct);
                await process.WaitForExitAsync(ct);
                watch.Stop();
                if (process.ExitCode != 0)
                    throw new InvalidOperationException($"runc run exited {process.ExitCode}: {await stderr}");
                if (i >= WarmUps)
                    times.Add(watch.Elapsed.TotalMilliseconds);
            }
        }
        finally
        {
            foreach (var hierarchy in Directory.EnumerateDirectories("/sys/fs/cgroup"))
            {
                var dir = Path.Combine(hierarchy, "lcluster-bench", context.Id + "-runc");
                if (Directory.Exists(dir))
                    Directory.Delete(dir); // runc removed its own cgroups below it; rmdir the empty parent
            }
        }
        return times;
    }

    private static string? FindRunc() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/usr/bin")
            .Select(dir => Path.Combine(dir, "runc")).FirstOrDefault(File.Exists);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}
