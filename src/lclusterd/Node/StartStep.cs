using Lcluster.Daemon.Store;
using Lcluster.V1;

namespace Lcluster.Daemon.Node;

/// <summary>What a node does next with a job it was given, decided from the job's record as the node reads it now.</summary>
internal enum StartStep
{
    /// <summary>Not this run's any more (deleted, requeued, settled, given to another node or incarnation): nothing to do.</summary>
    Leave,

    /// <summary>Scheduled here, and its owner asked to cancel it: record it cancelled without starting it.</summary>
    Cancel,

    /// <summary>Scheduled here: mark it running (fenced), then start it.</summary>
    MarkRunning,

    /// <summary>
    /// Already marked running by this very incarnation: the node's own mark, applied by etcd though its answer was lost
    /// (a timeout, a leader change). Nobody else may run the job, so this node starts it now; leaving it would leave a
    /// job recorded running that nothing runs and nothing settles, since its node is alive.
    /// </summary>
    StartMarked,
}

internal static class StartSteps
{
    public static StartStep Next(StoredJob? job, string node, long incarnation, bool cancel)
    {
        if (job is null || job.Job.Node != node || job.Record.NodeIncarnation != incarnation)
            return StartStep.Leave;
        return job.State switch
        {
            JobState.Running => StartStep.StartMarked,
            JobState.Scheduled => cancel || job.Record.CancelRequested ? StartStep.Cancel : StartStep.MarkRunning,
            _ => StartStep.Leave,
        };
    }
}
