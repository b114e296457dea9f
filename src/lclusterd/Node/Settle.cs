using Lcluster.Shared;
using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.Etcd.Kv;
using Lcluster.V1;

namespace Lcluster.Daemon.Node;

/// <summary>
/// The node's side of ending a job's run: record the outcome it saw, or
/// settle a job of an earlier incarnation of this node. Each is one fenced
/// Txn, retried while etcd is unreachable, abandoned when the record shows
/// the job is no longer this node's to settle.
/// </summary>
internal static class Settle
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Records how a job run by <paramref name="incarnation"/> of this node ended. The first write is fenced on
    /// <paramref name="running"/>, the record as the node marked it running, without reading it: if anything changed
    /// it since (a cancel request, a prime that settled it), that write fails and the record is read again.
    /// </summary>
    public static async Task RecordOutcomeAsync(NodeContext node, StoredJob running, long incarnation, JobOutcome outcome, CancellationToken ct)
    {
        var id = running.Id;
        StoredJob? known = running;
        await RetryAsync(node, $"recording the end of job {id}", async () =>
        {
            // A node whose incarnation ended meanwhile reads the record: a job that moved on has its output deleted.
            var job = known is not null && node.Registration.Incarnation == incarnation ? known : await node.Store.GetAsync(id, ct);
            known = null; // a failed or unconfirmed write reads the record again
            if (job is not null && IsOurs(node, job, incarnation) && JobStates.IsFinished(job.State) && job.Job.FinishedAt is not null)
                return true; // Our own write, which etcd applied though we never heard back.
            if (job is null || !IsOurs(node, job, incarnation) || job.State != JobState.Running)
            {
                node.Log.Warn($"job {id} ended on {node.Name}, but its record no longer names this run ({Describe(job)}); its result is dropped");
                node.Output.Delete(id);
                return true;
            }
            if (node.Registration.Incarnation != incarnation)
                return true; // This node lost that incarnation: the orphan path settles the job with the outcome on disk.
            var change = Settlement.Outcome(job, outcome, node.Output.Tail(id, false), node.Output.Tail(id, true), DateTimeOffset.UtcNow);
            if (!await node.Store.TryUpdateAsync(job, change.Next, [node.Registration.Guard(incarnation)], change.Ops, ct))
                return false;
            Finish(node, id, change);
            return true;
        }, ct);
    }

    /// <summary>
    /// A run key of this node that belongs to an earlier incarnation (the daemon
    /// restarted, or its lease expired): kill what is left of the job here and
    /// settle its record — with the outcome on disk if the job did end here.
    /// </summary>
    /// <param name="placement">The run key's create revision: only that key is removed, never a newer placement's.</param>
    public static async Task OrphanAsync(NodeContext node, string id, long placement, string why, CancellationToken ct)
    {
        await node.Executor.KillLeftoverAsync(id, ct);
        await RetryAsync(node, $"settling job {id} of an earlier incarnation", async () =>
        {
            var job = await node.Store.GetAsync(id, ct);
            var guard = node.Registration.Guard(node.Registration.Incarnation);
            if (job is null || job.Job.Node != node.Name || job.Record.NodeIncarnation == node.Registration.Incarnation || JobStates.IsFinished(job.State))
            {
                // Nothing to settle; only the stale run key (if it is still there) is left to remove. The job may
                // have been placed here again since (a new key, created later), which stays.
                await node.Store.DropKeyAsync(Keys.Run(node.Name, id), [guard, Cmp.CreateRevision(Keys.Run(node.Name, id)) == placement], ct);
                return true;
            }
            Change change;
            if (job.State == JobState.Running && OutcomeFile.Read(node.Output.OutcomePath(id)) is { } saved && saved.Incarnation == job.Record.NodeIncarnation)
                change = Settlement.Outcome(job, saved.Outcome, node.Output.Tail(id, false), node.Output.Tail(id, true), DateTimeOffset.UtcNow);
            else
                change = Settlement.Orphan(job, why, DateTimeOffset.UtcNow);
            if (!await node.Store.TryUpdateAsync(job, change.Next, [guard], change.Ops, ct))
                return false;
            Finish(node, id, change);
            return true;
        }, ct);
    }

    private static void Finish(NodeContext node, string id, Change change)
    {
        if (change.State == JobState.Queued)
            node.Output.Delete(id);
        node.Log.Info($"job {id} {Name(change.State)}: {change.Next.Job.Reason}");
    }

    private static bool IsOurs(NodeContext node, StoredJob job, long incarnation) =>
        job.Job.Node == node.Name && job.Record.NodeIncarnation == incarnation;

    private static string Describe(StoredJob? job) =>
        job is null ? "deleted" : $"{Name(job.State)} on {(job.Job.Node.Length > 0 ? job.Job.Node : "no node")}";

    public static string Name(JobState state) => Shared.JobStates.Name(state);

    /// <summary>Runs a fenced step until it reports done; re-runs it on a lost compare; waits out etcd outages.</summary>
    private static async Task RetryAsync(NodeContext node, string what, Func<Task<bool>> step, CancellationToken ct)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        var warned = false;
        while (true)
        {
            try
            {
                if (await step())
                    return;
                backoff = TimeSpan.FromMilliseconds(100);
            }
            catch (EtcdException e)
            {
                // Unreachable, or a write etcd may or may not have applied: the step reads the record again either way.
                if (!warned)
                    node.Log.Warn($"{what}: {(e is EtcdUnavailableException ? "etcd unreachable" : "etcd did not confirm")} ({e.Message}); retrying until it is back");
                warned = true;
                await Task.Delay(backoff, ct);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }
}
