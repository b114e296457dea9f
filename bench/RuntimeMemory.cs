using Lcluster.Runtime;

namespace Lcluster.Bench;

/// <summary>
/// docs/spec.md §5: the daemon's memory per running job. Starts N sleeping containers
/// at once and divides this process's growth by N: RSS (what the target is
/// about) and the managed heap (steadier). The inits and jobs are other
/// processes; this is what the daemon keeps per job. A first round of N warms
/// every pool and buffer so the second round measures steady state.
/// </summary>
internal sealed class RuntimeMemory : IBenchmark
{
    private const int Jobs = 100;

    public string Name => "runtime-memory";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context, CancellationToken ct)
    {
        var output = Path.Combine(context.Scratch, "mem-out");
        Directory.CreateDirectory(output);
        await using var sandbox = new Sandbox(new SandboxOptions
        {
            InitProgram = context.InitProgram,
            WorkDirectory = Path.Combine(context.Scratch, "mem-jobs"),
            CgroupParent = $"lcluster-bench/{context.Id}-mem",
        });
        await RoundAsync(sandbox, context, output, "warm", ct, measure: false);
        var (rss, managed) = await RoundAsync(sandbox, context, output, "sleep", ct, measure: true);
        // RSS moves in pages and the GC reuses what the warm round committed; judge by the larger of the two.
        var perJob = Math.Max(rss, managed);
        return
        [
            new Figure($"daemon memory per running job ({Jobs} at once)", $"{perJob / 1024.0:F0} KB", "", "≤ 200 KB", FigureTable.Verdict(perJob <= 200 << 10)),
            new Figure("  RSS growth / managed heap growth", $"{rss / 1024.0:F0} / {managed / 1024.0:F1} KB", "", "", "info"),
        ];
    }

    private static async Task<(long Rss, long Managed)> RoundAsync(Sandbox sandbox, BenchContext context, string output, string prefix,
        CancellationToken ct, bool measure)
    {
        var (rssBefore, managedBefore) = Measure();
        var running = new List<Container>();
        for (var i = 0; i < Jobs; i++)
        {
            var jobId = $"{prefix}-{i}";
            running.Add(await sandbox.StartAsync(new SandboxSpec
            {
                JobId = jobId, RootFs = context.RootFs, Command = "echo started; echo started >&2; exec sleep 1000", Hostname = jobId,
                StdoutPath = Path.Combine(output, jobId + ".out"), StderrPath = Path.Combine(output, jobId + ".err"),
            }, ct));
        }
        var (rssAfter, managedAfter) = Measure();
        foreach (var container in running)
            await container.KillAsync();
        return measure ? ((rssAfter - rssBefore) / Jobs, (managedAfter - managedBefore) / Jobs) : (0, 0);
    }

    private static (long Rss, long Managed) Measure()
    {
        var managed = GC.GetTotalMemory(forceFullCollection: true);
        var line = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return (long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024, managed);
    }
}
