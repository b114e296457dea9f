using Google.Protobuf;
using Lcluster.Etcd.Kv;
using Lcluster.Etcd;
using Lcluster.V1;

namespace Lcluster.Daemon.Store;

/// <summary>A record to write and the ops that go with it in the same Txn.</summary>
internal sealed record Change(JobRecord Next, IReadOnlyList<Op> Ops)
{
    public JobState State => Next.Job.State;
}

/// <summary>
/// How a job's record is settled when its run on a node ends — by the node
/// with the outcome it saw, or for a node that died or lost its incarnation
/// (an orphan). Pure: the caller adds its guards and runs the Txn.
/// </summary>
internal static class Settlement
{
    /// <summary>The node ran the job to an end and reports the outcome.</summary>
    public static Change Outcome(StoredJob job, JobOutcome outcome, byte[] stdoutTail, byte[] stderrTail, DateTimeOffset now)
    {
        // A user's removal wins over an infrastructure kill: the job was to be gone either way.
        var cancelled = outcome.Cancelled || (job.Record.CancelRequested && outcome.InfrastructureFailure is not null);
        if (outcome.InfrastructureFailure is { } why && !cancelled)
            return Infrastructure(job, why, now, outputKept: true, stdoutTail, stderrTail);
        var next = Transitions.Finished(job, outcome with { Cancelled = cancelled }, now);
        return new Change(next, [.. EndOps(job, outputKept: true, stdoutTail, stderrTail)]);
    }

    /// <summary>
    /// The job's node is gone, or came back as a new incarnation, and nobody
    /// knows how the job ended: never started → back to the queue; was
    /// running → another attempt if retries allow, else lost.
    /// </summary>
    public static Change Orphan(StoredJob job, string why, DateTimeOffset now)
    {
        if (job.Record.CancelRequested)
            return new Change(job.State == JobState.Scheduled ? Transitions.CancelledBeforeStart(job, now) : Transitions.CancelledWithoutConfirmation(job, now),
                [.. EndOps(job, outputKept: false, [], [])]);
        if (job.State == JobState.Scheduled)
        {
            var requeued = Transitions.Requeued(job, $"{why} before starting it; back in the queue");
            return new Change(requeued, [.. EndOps(job, outputKept: false, [], []), Op.Put(Keys.QueueEntry(job.Id), Transitions.QueueEntryFor(job).ToByteString())]);
        }
        return Infrastructure(job, why, now, outputKept: false, [], []);
    }

    private static Change Infrastructure(StoredJob job, string why, DateTimeOffset now, bool outputKept, byte[] stdoutTail, byte[] stderrTail)
    {
        if (Transitions.MayRetry(job))
        {
            var requeued = Transitions.Requeued(job, $"{why} while attempt {job.Job.Attempts} ran; back in the queue (retries: {job.Job.Retries})");
            return new Change(requeued, [.. EndOps(job, outputKept: false, [], []), Op.Put(Keys.QueueEntry(job.Id), Transitions.QueueEntryFor(job).ToByteString())]);
        }
        var lost = Transitions.Lost(job, $"{why} while the job ran" + (job.Job.Retries > 0 ? $" (no retries left of {job.Job.Retries})" : ""), now);
        return new Change(lost, [.. EndOps(job, outputKept, stdoutTail, stderrTail)]);
    }

    /// <summary>
    /// The run key goes (the slot is free); kept output is indexed on the node and its tails saved. An empty stream
    /// has no tail key: a missing tail reads as no output, so a job that printed nothing writes two keys less. Tails
    /// are charged to the owner: the usage entry becomes what the job was charged when made, plus their bytes (a
    /// record made before records carried their charge keeps its entry).
    /// </summary>
    private static IEnumerable<Op> EndOps(StoredJob job, bool outputKept, byte[] stdoutTail, byte[] stderrTail)
    {
        var node = job.Job.Node;
        if (node.Length > 0)
            yield return Op.Delete(Keys.Run(node, job.Id));
        if (!outputKept || node.Length == 0)
            yield break;
        yield return Op.Put(Keys.Out(node, job.Id), ByteString.Empty);
        if (stdoutTail.Length > 0)
            yield return Op.Put(Keys.Tail(job.Id, stderr: false), ByteString.CopyFrom(stdoutTail));
        if (stderrTail.Length > 0)
            yield return Op.Put(Keys.Tail(job.Id, stderr: true), ByteString.CopyFrom(stderrTail));
        if (stdoutTail.Length + stderrTail.Length > 0 && job.Record.ChargedBytes > 0)
            yield return Op.Put(Keys.UsageEntry(job.Job.Owner, job.Id), Keys.UsageValue(job.Record.ChargedBytes + stdoutTail.Length + stderrTail.Length));
    }
}
