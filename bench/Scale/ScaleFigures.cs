using Lcluster.Bench;

namespace Lcluster.Scale;

/// <summary>The simulator's result as rows of the table, and whether it is sound (every job placed and run once).</summary>
internal static class ScaleFigures
{
    public static IReadOnlyList<Figure> Of(SimulationResult r)
    {
        var s = r.Settings;
        return
        [
            new($"jobs accepted/s ({s.Jobs}, {s.Clients} clients, {s.ApiNodes} API nodes, slots held)", $"{r.AcceptedPerSecond:F0}/s", "", "≥ 5000/s", FigureTable.Verdict(r.AcceptedPerSecond >= 5000)),
            new("  etcd writes / etcd CPU / API node CPU per accepted job", $"{r.AcceptWritesPerJob:F2} / {r.EtcdCpuMsPerAccepted:F2} ms / {r.ApiCpuMsPerAccepted:F2} ms", "", "", ""),
            new($"hollow nodes registered ({s.HollowNodes}, {s.SlotsPerNode} slots each)", $"{r.HollowRegistration.TotalSeconds:F1} s", "", "", ""),
            new($"jobs placed/s (queue of {s.Jobs}, nodes running them meanwhile)", $"{r.PlacedPerSecond:F0}/s", "", "≥ 2000/s", FigureTable.Verdict(r.PlacedPerSecond >= 2000)),
            new("  prime CPU per placed job", $"{r.PrimeCpuMsPerJob:F3} ms", "", "", ""),
            new("etcd writes (revisions) per job, submitted to succeeded", $"{r.WritesPerJob:F2}", "", "", ""),
            new("  keys put or deleted / range operations per job (etcd's counters)", $"{r.KeysWrittenPerJob:F1} / {r.KeysReadPerJob:F1}", "", "", ""),
            new("  etcd run with", $"GOGC={s.EtcdGoGarbageTarget ?? "100 (Go's default)"} {string.Join(' ', Lcluster.TestSupport.EtcdServer.CostFlags)}", "", "", ""),
            new("  etcd CPU / hollow nodes' process CPU / machine CPU per job", $"{r.EtcdCpuMsPerJob:F2} / {r.SimulatorCpuMsPerJob:F2} / {r.MachineCpuMsPerJob:F2} ms", "", "", ""),
            new($"first ListJobs of a node (from etcd while its view loads); the view loaded in", $"{r.FirstListMs:F1} ms; {r.ListViewLoad.TotalSeconds:F1} s", "", "", ""),
            new("  that node's RSS before its first listing / with its view", $"{r.ListerRssBeforeMb:F1} / {r.ListerRssAfterMb:F1} MB", "", "", ""),
            new($"ListJobs, one page, {s.Jobs} retained (history compacted), p50 / p99", $"{r.ListP50Ms:F1} / {r.ListP99Ms:F1} ms", "", "p99 ≤ 50 ms", FigureTable.Verdict(r.ListP99Ms <= 50)),
            new($"CheckJob, {s.Jobs} retained, p50 / p99", $"{r.CheckP50Ms:F1} / {r.CheckP99Ms:F1} ms", "", "p99 ≤ 10 ms", FigureTable.Verdict(r.CheckP99Ms <= 10)),
            new($"prime CPU per idle round, {s.ApiNodes} nodes: no job / {s.Jobs} retained", $"{r.IdleEmpty.MsPerRound:F2} / {r.IdleRetained.MsPerRound:F2} ms ({r.IdleEmpty.Rounds} / {r.IdleRetained.Rounds} rounds)", "",
                "unchanged (≤ +25 %)", FigureTable.Verdict(PrimeUnchanged(r))),
            new("jobs ran once / succeeded", $"{r.RanOnce} / {r.Succeeded} of {r.Submitted}{(r.NotSucceeded.Count > 0 ? " (" + string.Join(", ", r.NotSucceeded) + ")" : "")}", "", $"all {s.Jobs}, none twice",
                Sound(r) ? "met" : $"FAILED (ran again {r.RanAgain}, {r.Errors.Count} error line(s))"),
            new("jobs placed once; placed again after their node's lease expired", $"{r.PlacedOnce}; {r.PlacedAgain}", "", "", ""),
            new("hollow nodes' leases lost (etcd did not renew within the TTL)", $"{r.LeasesLost}", "", "0", r.LeasesLost == 0 ? "met" : "MISSED"),
            new("nodes that ran jobs; jobs per node fewest–most", $"{r.NodesUsed} of {s.HollowNodes + s.ApiNodes}; {r.FewestJobsOnAUsedNode}–{r.MostJobsOnANode}", "", "", ""),
        ];
    }

    /// <summary>
    /// The prime's idle round with every job retained costs what it did with none, within the noise of a process's
    /// CPU read from /proc in 10 ms ticks over a few seconds: a quarter, or 0.1 ms a round.
    /// </summary>
    public static bool PrimeUnchanged(SimulationResult r) =>
        r.IdleEmpty.Rounds > 0 && r.IdleRetained.Rounds > 0 && r.IdleRetained.MsPerRound <= Math.Max(r.IdleEmpty.MsPerRound * 1.25, r.IdleEmpty.MsPerRound + 0.1);

    public static IReadOnlyList<Figure> Of(DaemonsResult r)
    {
        var s = r.Settings;
        var started = r.StartFailure is null ? $"{r.Started}" : $"{r.Started} ({r.StartFailure})";
        return
        [
            new($"real daemons started, each in its own netns ({s.Daemons} asked for)", started, "", $"{s.Daemons}", FigureTable.Verdict(r.Started == s.Daemons)),
            new("daemons registered (first start to all listed)", $"{r.Registration.TotalSeconds:F1} s", "", "", ""),
            new("live nodes listed / primes", $"{r.Listed} / {r.Primes}", "", $"{r.Started} / 1", FigureTable.Verdict(r.Listed == r.Started && r.Primes == 1)),
            new($"real jobs (`true`) accepted/s ({s.Jobs}, {s.Clients} clients)", $"{r.AcceptedPerSecond:F0}/s", "", "", ""),
            new($"real jobs placed and started/s ({s.SlotsPerDaemon} slots a daemon)", $"{r.PlacedPerSecond:F0}/s", "", "", ""),
            new("real jobs completed/s (submission to last end)", $"{r.CompletedPerSecond:F0}/s", "", "", ""),
            new("real jobs succeeded; nodes that ran them; per node fewest–most", $"{r.Succeeded} of {s.Jobs}; {r.NodesUsed}; {r.FewestJobsOnANode}–{r.MostJobsOnANode}", "",
                $"all; {r.Started} nodes", FigureTable.Verdict(r.Succeeded == s.Jobs && r.NodesUsed == r.Started)),
            new("daemon RSS idle, mean / max", $"{r.RssIdleMeanMb:F1} / {r.RssIdleMaxMb:F1} MB", "", "", ""),
            new("daemon RSS after the jobs, mean / max", $"{r.RssAfterMeanMb:F1} / {r.RssAfterMaxMb:F1} MB", "", "", ""),
        ];
    }

    /// <summary>Every job ran exactly once and succeeded, and no node logged an error. (A job may be placed again when
    /// the node it was placed on lost its lease before starting it: that is the design, and is reported apart.)</summary>
    public static bool Sound(SimulationResult r) =>
        r.Submitted == r.Settings.Jobs && r.RanOnce == r.Settings.Jobs && r.RanAgain == 0 && r.Succeeded == r.Settings.Jobs && r.Errors.Count == 0;
}
