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

/// <summary>What a node does when it reads a run key of its own (NodeAgent.Dispatch), before reading the job's record.</summary>
internal enum DispatchStep
{
    /// <summary>Placed on an earlier incarnation of this node: whatever is left of it here dies, and its record is settled.</summary>
    Settle,

    /// <summary>
    /// The run already under way here, or the node's own mark of a run that has ended since: nothing new, unless it
    /// asks to cancel.
    /// </summary>
    Same,

    /// <summary>The run under way here, with its owner's request to cancel it.</summary>
    Cancel,

    /// <summary>
    /// A new placement of a job whose earlier run here has not ended yet (its end recorded a retry, or it was waiting
    /// out an etcd outage as its incarnation ended): the new one starts once the earlier one is gone. Ignoring it would
    /// leave the job scheduled here with nothing to start it.
    /// </summary>
    StartAfterEarlier,

    /// <summary>Nothing runs it here yet: start it (unless the node is stopping).</summary>
    Start,
}

internal static class DispatchSteps
{
    /// <param name="placement">The run key's create revision.</param>
    /// <param name="runningPlacement">The placement of the run under way here for the job, if any.</param>
    public static DispatchStep Next(Assignment assignment, long placement, long incarnation, long? runningPlacement)
    {
        if (assignment.NodeIncarnation != incarnation)
            return DispatchStep.Settle;
        if (runningPlacement is not { } running)
            // Started: this incarnation's own mark, seen after the run it started has ended (its end deletes the key).
            return assignment.Started ? DispatchStep.Same : DispatchStep.Start;
        if (running != placement)
            return DispatchStep.StartAfterEarlier;
        return assignment.Cancel ? DispatchStep.Cancel : DispatchStep.Same;
    }
}
