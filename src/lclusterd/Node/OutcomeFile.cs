using Google.Protobuf;
using Lcluster.Daemon.Store;

namespace Lcluster.Daemon.Node;

/// <summary>
/// A job's outcome on disk (an OutcomeRecord), written atomically before it is recorded in etcd, so a daemon restarted
/// in between can still record it. It stays with the job's output and goes with it: deleting it once recorded would
/// make every job free an inode, and on an ext4 without a journal each new file's inode is found only after skipping
/// every inode freed in the last minutes.
/// </summary>
internal static class OutcomeFile
{
    public static void Write(string path, JobOutcome outcome, long incarnation)
    {
        var record = new OutcomeRecord
        {
            ExitCode = outcome.ExitCode,
            Signal = outcome.Signal,
            OomKilled = outcome.OomKilled,
            TimedOut = outcome.TimedOut,
            Cancelled = outcome.Cancelled,
            StartFailure = outcome.StartFailure ?? "",
            PeakMemoryBytes = outcome.PeakMemoryBytes,
            CpuSeconds = outcome.CpuSeconds,
            StdoutBytes = outcome.StdoutBytes,
            StderrBytes = outcome.StderrBytes,
            InfrastructureFailure = outcome.InfrastructureFailure ?? "",
            NodeProblem = outcome.NodeProblem ?? "",
            StdoutTruncated = outcome.StdoutTruncated,
            StderrTruncated = outcome.StderrTruncated,
            ArtifactFiles = outcome.ArtifactFiles,
            ArtifactBytes = outcome.ArtifactBytes,
            ArtifactNote = outcome.ArtifactNote ?? "",
            Incarnation = incarnation,
        };
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            record.WriteTo(file);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The outcome and the incarnation that ran the job, or null when there is none (or it is unreadable).</summary>
    public static (JobOutcome Outcome, long Incarnation)? Read(string path)
    {
        if (!File.Exists(path))
            return null;
        OutcomeRecord r;
        try
        {
            r = OutcomeRecord.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
        var outcome = new JobOutcome(r.ExitCode, r.Signal, r.OomKilled, r.TimedOut, r.Cancelled,
            r.StartFailure.Length > 0 ? r.StartFailure : null, r.PeakMemoryBytes, r.CpuSeconds, r.StdoutBytes, r.StderrBytes)
        {
            InfrastructureFailure = r.InfrastructureFailure.Length > 0 ? r.InfrastructureFailure : null,
            NodeProblem = r.NodeProblem.Length > 0 ? r.NodeProblem : null,
            StdoutTruncated = r.StdoutTruncated,
            StderrTruncated = r.StderrTruncated,
            ArtifactFiles = r.ArtifactFiles,
            ArtifactBytes = r.ArtifactBytes,
            ArtifactNote = r.ArtifactNote.Length > 0 ? r.ArtifactNote : null,
        };
        return (outcome, r.Incarnation);
    }
}
