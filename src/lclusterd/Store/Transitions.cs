using Google.Protobuf.WellKnownTypes;
using Lcluster.V1;

namespace Lcluster.Daemon.Store;

/// <summary>
/// What a job ended with, as the node that ran it saw it. InfrastructureFailure
/// is set when the daemon itself killed the job for a reason that is not the
/// job's fault (lost contact with etcd, shutting down): such a job is retried
/// or ends lost, never failed.
/// </summary>
internal sealed record JobOutcome(
    int? ExitCode, int Signal, bool OomKilled, bool TimedOut, bool Cancelled, string? StartFailure,
    long PeakMemoryBytes, double CpuSeconds, long StdoutBytes, long StderrBytes)
{
    public string? InfrastructureFailure { get; init; }

    /// <summary>What the node failed at for this job without stopping it (keeping its output, cleaning up): told in the reason.</summary>
    public string? NodeProblem { get; init; }

    /// <summary>The stream went over the output cap and was cut (the job went on).</summary>
    public bool StdoutTruncated { get; init; }
    public bool StderrTruncated { get; init; }

    /// <summary>What was collected from its /work, and what was left out (docs/files.md).</summary>
    public int ArtifactFiles { get; init; }
    public long ArtifactBytes { get; init; }
    public string? ArtifactNote { get; init; }

    /// <summary>The job never ran: the reason is its failure.</summary>
    public static JobOutcome CouldNotStart(string why) => NeverRan with { StartFailure = why };

    /// <summary>Stopped before its container started (removed, or the node stopping), nothing measured.</summary>
    public static JobOutcome StoppedBeforeStart(bool cancelled) => NeverRan with { Cancelled = cancelled };

    private static readonly JobOutcome NeverRan = new(null, 0, false, false, false, null, 0, 0, 0, 0);
}

/// <summary>
/// Each state change of a job record (docs/etcd-keys.md), as a pure function
/// from the record read to the record to write. Who may apply which, and the
/// Txn around it, is the caller's business.
/// </summary>
internal static class Transitions
{
    public static JobRecord Scheduled(StoredJob job, string node, long incarnation)
    {
        var next = job.Edit();
        next.Job.State = JobState.Scheduled;
        next.Job.Node = node;
        next.Job.Reason = $"placed on {node}";
        next.NodeIncarnation = incarnation;
        return next;
    }

    public static JobRecord Running(StoredJob job, DateTimeOffset now)
    {
        var next = job.Edit();
        next.Job.State = JobState.Running;
        next.Job.Attempts++;
        next.Job.StartedAt = Timestamp.FromDateTimeOffset(now);
        next.Job.FinishedAt = null;
        next.Job.Reason = next.Job.Attempts > 1 ? $"running on {next.Job.Node} (attempt {next.Job.Attempts})" : $"running on {next.Job.Node}";
        return next;
    }

    public static JobRecord Finished(StoredJob job, JobOutcome outcome, DateTimeOffset now)
    {
        var next = job.Edit();
        var j = next.Job;
        j.FinishedAt = Timestamp.FromDateTimeOffset(now);
        j.ExitCode = outcome.ExitCode;
        j.Signal = outcome.Signal;
        j.OomKilled = outcome.OomKilled;
        j.TimedOut = outcome.TimedOut;
        j.PeakMemoryBytes = outcome.PeakMemoryBytes;
        j.CpuSeconds = outcome.CpuSeconds;
        j.StdoutBytes = outcome.StdoutBytes;
        j.StderrBytes = outcome.StderrBytes;
        j.ArtifactFiles = outcome.ArtifactFiles;
        j.ArtifactBytes = outcome.ArtifactBytes;
        (j.State, j.Reason) = outcome switch
        {
            { Cancelled: true } => (JobState.Cancelled, "cancelled by a user; the container was killed"),
            { StartFailure: { } failure } => (JobState.Failed, $"could not start: {failure}"),
            { OomKilled: true } => (JobState.Failed, $"killed: out of memory (limit {Shared.Units.FormatBytes(j.Limits?.MemoryBytes ?? 0)})"),
            { TimedOut: true } => (JobState.Failed, $"killed: time limit of {Shared.Units.FormatSeconds(j.Limits?.TimeSeconds ?? 0)} reached"),
            { ExitCode: 0 } => (JobState.Succeeded, "exited with code 0"),
            { ExitCode: { } code } => (JobState.Failed, $"exited with code {code}"),
            _ => (JobState.Failed, $"killed by signal {outcome.Signal} ({SignalName(outcome.Signal)})"),
        };
        if (outcome.Cancelled)
            j.ExitCode = null;
        var cut = new[] { outcome.StdoutTruncated ? "stdout" : null, outcome.StderrTruncated ? "stderr" : null }.OfType<string>().ToList();
        if (cut.Count > 0)
            j.Reason += $"; its {string.Join(" and ", cut)} went over the output cap and {(cut.Count > 1 ? "were" : "was")} cut";
        if (outcome.ArtifactNote is { } note)
            j.Reason += $"; artifacts: {note}";
        if (outcome.NodeProblem is { } problem)
            j.Reason += $"; on node {j.Node}: {problem}";
        return next;
    }

    /// <summary>Cancelled before it ever ran (queued, or scheduled and not started).</summary>
    public static JobRecord CancelledBeforeStart(StoredJob job, DateTimeOffset now)
    {
        var next = job.Edit();
        next.Job.State = JobState.Cancelled;
        next.Job.FinishedAt = Timestamp.FromDateTimeOffset(now);
        next.Job.Reason = "cancelled by a user before it ran";
        next.CancelRequested = true;
        return next;
    }

    public static JobRecord CancelRequested(StoredJob job)
    {
        var next = job.Edit();
        next.CancelRequested = true;
        return next;
    }

    /// <summary>Back to the queue after an infrastructure failure; keeps its place (sequence) and attempts.</summary>
    public static JobRecord Requeued(StoredJob job, string reason)
    {
        var next = job.Edit();
        next.Job.State = JobState.Queued;
        next.Job.Node = "";
        next.NodeIncarnation = 0;
        next.Job.StartedAt = null;
        next.Job.Reason = reason;
        return next;
    }

    public static JobRecord Lost(StoredJob job, string reason, DateTimeOffset now) => Ended(job, JobState.Lost, reason, now);

    /// <summary>Cancelled while it ran on a node that went away before confirming the kill.</summary>
    public static JobRecord CancelledWithoutConfirmation(StoredJob job, DateTimeOffset now) =>
        Ended(job, JobState.Cancelled, "cancelled by a user; its node went away before confirming the kill", now);

    private static JobRecord Ended(StoredJob job, JobState state, string reason, DateTimeOffset now)
    {
        var next = job.Edit();
        next.Job.State = state;
        next.Job.FinishedAt = Timestamp.FromDateTimeOffset(now);
        next.Job.Reason = reason;
        return next;
    }

    public static JobRecord WithReason(StoredJob job, string reason)
    {
        var next = job.Edit();
        next.Job.Reason = reason;
        return next;
    }

    /// <summary>A queue entry that puts the job back in its original place: the revision its record was created at.</summary>
    public static QueueEntry QueueEntryFor(StoredJob job)
    {
        if (job.CreateRevision <= 0)
            throw new InvalidOperationException($"job {job.Id}: a record whose create revision is unknown cannot be queued again");
        return new()
        {
            Priority = job.Job.Priority,
            Sequence = job.CreateRevision,
            Limits = job.Job.Limits,
            ArrayIndex = job.Job.ArrayIndex,
        };
    }

    /// <summary>True when the node's death (or loss of its lease) under a running job allows another attempt.</summary>
    public static bool MayRetry(StoredJob job) => job.Job.Attempts <= job.Job.Retries;

    public static string SignalName(int signal) => Shared.SignalNames.Of(signal);
}
