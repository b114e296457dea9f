using Lcluster.Daemon.Store;

namespace Lcluster.Daemon.Prime;

/// <summary>A run key the prime must settle: its node is gone, or came back as a newer incarnation.</summary>
internal sealed record Orphan(RunKey Run, string Why);

/// <summary>
/// Which run keys are orphans, and when each may be settled: the orphan and retry policy, as
/// pure functions of the live members and run keys, so it is tested without etcd.
/// </summary>
internal static class Orphans
{
    public static IReadOnlyList<Orphan> Find(IEnumerable<RunKey> runs, IReadOnlyDictionary<string, NodeRecord> members) =>
        runs.Where(r => !members.TryGetValue(r.Node, out var m) || m.Incarnation != r.Assignment.NodeIncarnation)
            .Select(r => new Orphan(r, members.ContainsKey(r.Node) ? $"node {r.Node} restarted" : $"node {r.Node} stopped responding"))
            .ToList();

    /// <summary>
    /// May the job of an orphan be settled now? A running job that another attempt would run
    /// again waits until its node has surely killed it (the node does so at its fence timeout);
    /// anything else is settled at once. <paramref name="orphanedFor"/> comes from a monotonic clock: a step of the
    /// wall clock must not start a retry while the cut-off node may still run the job.
    /// </summary>
    public static bool Due(StoredJob job, TimeSpan orphanedFor, TimeSpan retryDelay) =>
        job.State != V1.JobState.Running || job.Record.CancelRequested || !Transitions.MayRetry(job) || orphanedFor >= retryDelay;

    /// <summary>How long a running job of a dead node waits before another attempt: until its node has surely killed it.</summary>
    public static TimeSpan RetryDelay(TimeSpan fenceTimeout, TimeSpan leaseTtl) => fenceTimeout - leaseTtl + TimeSpan.FromSeconds(1);
}
