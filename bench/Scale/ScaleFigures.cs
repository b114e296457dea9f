using Lcluster.Bench;

namespace Lcluster.Scale;

/// <summary>The simulator's result as rows of the table, and whether it is sound (every job placed and run once).</summary>
internal static class ScaleFigures
{
    public static IReadOnlyList<Figure> Of(SimulationResult r)
    {
        var s = r.Settings;
        var where = $"{s.HollowNodes} hollow + {s.ApiNodes} API nodes";
        return
        [
            new($"hollow nodes registered ({s.HollowNodes})", $"{r.HollowRegistration.TotalSeconds:F1} s", "", "", ""),
            new($"jobs accepted/s ({s.Jobs}, {s.Clients} clients, {where})", $"{r.AcceptedPerSecond:F0}/s", "", "≥ 5000/s", FigureTable.Verdict(r.AcceptedPerSecond >= 5000)),
            new("jobs placed/s (first submission to last placement)", $"{r.PlacedPerSecond:F0}/s", "", "≥ 2000/s", FigureTable.Verdict(r.PlacedPerSecond >= 2000)),
            new("etcd writes (revisions) per job, submit to succeeded", $"{r.WritesPerJob:F2}", "", "", ""),
            new("prime CPU per placed job (its API share included)", $"{r.PrimeCpuMsPerJob:F3} ms", "", "", ""),
            new("other API node CPU per job it accepted", $"{r.ApiCpuMsPerAccepted:F3} ms", "", "", ""),
            new("etcd CPU per job", $"{r.EtcdCpuMsPerJob:F3} ms", "", "", ""),
            new("hollow nodes + clients (one process) CPU per job", $"{r.SimulatorCpuMsPerJob:F3} ms", "", "", ""),
            new("whole machine CPU per job", $"{r.MachineCpuMsPerJob:F3} ms", "", "", ""),
            new($"ListJobs, one page, {s.Jobs} retained, p50 / p99", $"{r.ListP50Ms:F1} / {r.ListP99Ms:F1} ms", "", "p99 ≤ 50 ms", FigureTable.Verdict(r.ListP99Ms <= 50)),
            new($"CheckJob, {s.Jobs} retained, p50 / p99", $"{r.CheckP50Ms:F1} / {r.CheckP99Ms:F1} ms", "", "p99 ≤ 10 ms", FigureTable.Verdict(r.CheckP99Ms <= 10)),
            new("jobs placed once / ran once / succeeded", $"{r.PlacedOnce} / {r.RanOnce} / {r.Succeeded} of {r.Submitted}", "", $"all {s.Jobs}, none twice",
                Sound(r) ? "met" : $"FAILED (placed again {r.PlacedAgain}, ran again {r.RanAgain})"),
            new("nodes that ran jobs; jobs per node fewest–most", $"{r.NodesUsed}; {r.FewestJobsOnAUsedNode}–{r.MostJobsOnANode}", "", "", ""),
        ];
    }

    public static bool Sound(SimulationResult r) =>
        r.Submitted == r.Settings.Jobs && r.PlacedOnce == r.Settings.Jobs && r.PlacedAgain == 0 && r.RanOnce == r.Settings.Jobs
        && r.RanAgain == 0 && r.Succeeded == r.Settings.Jobs && r.Errors.Count == 0;
}
