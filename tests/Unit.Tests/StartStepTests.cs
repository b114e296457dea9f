using Lcluster.Daemon.Node;
using Lcluster.V1;

namespace Lcluster.Unit.Tests;

/// <summary>What a node does with a job it was given, from the record it reads (NodeAgent.StartAsync).</summary>
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
}
