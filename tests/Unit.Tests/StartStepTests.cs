using Lcluster.Daemon.Node;
using Lcluster.Daemon.Store;
using Lcluster.V1;

namespace Lcluster.Unit.Tests;

/// <summary>What a node does with a job it was given: from its run key (NodeAgent.Dispatch), then from the record it reads (NodeAgent.StartAsync).</summary>
public sealed class StartStepTests
{
    [Fact]
    public void A_job_scheduled_here_is_marked_running_or_cancelled_as_its_owner_asked()
    {
        Assert.Equal(StartStep.MarkRunning, StartSteps.Next(JobRecords.Stored(JobState.Scheduled, "a", 7), "a", 7, cancel: false));
        Assert.Equal(StartStep.Cancel, StartSteps.Next(JobRecords.Stored(JobState.Scheduled, "a", 7), "a", 7, cancel: true));
        Assert.Equal(StartStep.Cancel, StartSteps.Next(JobRecords.Stored(JobState.Scheduled, "a", 7, cancelRequested: true), "a", 7, cancel: false));
    }

    [Fact]
    public void A_job_this_incarnation_marked_running_though_the_answer_was_lost_is_started_not_left_running_forever()
    {
        Assert.Equal(StartStep.StartMarked, StartSteps.Next(JobRecords.Stored(JobState.Running, "a", 7), "a", 7, cancel: false));
    }

    [Theory]
    [InlineData(JobState.Running, "b", 7)] // another node's
    [InlineData(JobState.Running, "a", 6)] // an earlier incarnation's: the orphan path settles it
    [InlineData(JobState.Scheduled, "a", 6)]
    [InlineData(JobState.Queued, "", 0)] // requeued
    [InlineData(JobState.Succeeded, "a", 7)]
    [InlineData(JobState.Cancelled, "a", 7)]
    public void A_job_no_longer_this_runs_is_left_alone(JobState state, string node, long incarnation)
    {
        Assert.Equal(StartStep.Leave, StartSteps.Next(JobRecords.Stored(state, node, incarnation), "a", 7, cancel: false));
        Assert.Equal(StartStep.Leave, StartSteps.Next(null, "a", 7, cancel: false));
    }

    [Fact]
    public void A_run_key_of_this_incarnation_starts_a_run_unless_one_runs_it_already()
    {
        var placed = new Assignment { NodeIncarnation = 7 };
        Assert.Equal(DispatchStep.Start, DispatchSteps.Next(placed, placement: 40, incarnation: 7, runningPlacement: null));
        // Read again (a resync) or rewritten with its owner's cancel: the same placement, the run under way.
        Assert.Equal(DispatchStep.Same, DispatchSteps.Next(placed, placement: 40, incarnation: 7, runningPlacement: 40));
        Assert.Equal(DispatchStep.Cancel, DispatchSteps.Next(new Assignment { NodeIncarnation = 7, Cancel = true }, 40, 7, runningPlacement: 40));
    }

    [Fact]
    public void The_nodes_own_mark_of_a_run_starts_nothing_even_once_that_run_has_ended()
    {
        // The mark rewrites the run key as started; a short job can end (and leave) before the node sees that change.
        var marked = new Assignment { NodeIncarnation = 7, Started = true };
        Assert.Equal(DispatchStep.Same, DispatchSteps.Next(marked, placement: 40, incarnation: 7, runningPlacement: 40));
        Assert.Equal(DispatchStep.Same, DispatchSteps.Next(marked, placement: 40, incarnation: 7, runningPlacement: null));
        // An earlier incarnation's started run is still settled, and a cancel still reaches the run.
        Assert.Equal(DispatchStep.Settle, DispatchSteps.Next(new Assignment { NodeIncarnation = 6, Started = true }, 40, 7, runningPlacement: null));
        Assert.Equal(DispatchStep.Cancel, DispatchSteps.Next(new Assignment { NodeIncarnation = 7, Started = true, Cancel = true }, 40, 7, runningPlacement: 40));
    }

    [Fact]
    public void A_job_placed_here_again_while_its_earlier_run_here_ends_is_started_after_it_not_ignored()
    {
        // The earlier run (placement 40) recorded a retry, or waited out an outage as its incarnation ended; the prime
        // placed the job here again (a new run key, created at 55) before that run was gone.
        Assert.Equal(DispatchStep.StartAfterEarlier, DispatchSteps.Next(new Assignment { NodeIncarnation = 7 }, 55, 7, runningPlacement: 40));
        Assert.Equal(DispatchStep.StartAfterEarlier, DispatchSteps.Next(new Assignment { NodeIncarnation = 7, Cancel = true }, 55, 7, runningPlacement: 40));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(40L)]
    public void A_run_key_of_an_earlier_incarnation_is_settled(long? runningPlacement)
    {
        Assert.Equal(DispatchStep.Settle, DispatchSteps.Next(new Assignment { NodeIncarnation = 6 }, 40, 7, runningPlacement));
    }
}
