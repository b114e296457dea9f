using Lcluster.Daemon.Store;
using Lcluster.Etcd;
using Lcluster.V1;

namespace Lcluster.Unit.Tests;

public sealed class SettlementTests
{
    private static readonly DateTimeOffset Now = JobRecords.Submitted.AddMinutes(5);

    [Fact]
    public void A_scheduled_orphan_goes_back_to_its_place_in_the_queue_and_frees_its_slot()
    {
        var job = JobRecords.Stored(JobState.Scheduled, "a", 7, createRevision: 42);

        var change = Settlement.Orphan(job, "node a stopped responding", Now);

        Assert.Equal(JobState.Queued, change.State);
        Assert.Equal("", change.Next.Job.Node);
        Assert.Contains("back in the queue", change.Next.Job.Reason);
        Assert.Equal(2, change.Ops.Count); // the run key goes, the queue entry comes back
        Assert.Equal(0, change.Next.Job.Attempts);
    }

    [Fact]
    public void A_running_orphan_with_retries_left_is_requeued_keeping_its_attempts_and_without_retries_it_is_lost()
    {
        var retried = Settlement.Orphan(JobRecords.Stored(JobState.Running, "a", 7, attempts: 1, retries: 1), "node a stopped responding", Now);
        var lost = Settlement.Orphan(JobRecords.Stored(JobState.Running, "a", 7, attempts: 2, retries: 1), "node a stopped responding", Now);

        Assert.Equal(JobState.Queued, retried.State);
        Assert.Equal(1, retried.Next.Job.Attempts);
        Assert.Contains("retries: 1", retried.Next.Job.Reason);
        Assert.Equal(JobState.Lost, lost.State);
        Assert.Contains("no retries left of 1", lost.Next.Job.Reason);
        Assert.NotNull(lost.Next.Job.FinishedAt);
    }

    [Fact]
    public void An_orphan_a_user_asked_to_remove_ends_cancelled_never_lost_or_retried()
    {
        var running = Settlement.Orphan(JobRecords.Stored(JobState.Running, "a", 7, attempts: 1, retries: 3, cancelRequested: true), "x", Now);
        var scheduled = Settlement.Orphan(JobRecords.Stored(JobState.Scheduled, "a", 7, cancelRequested: true), "x", Now);

        Assert.Equal(JobState.Cancelled, running.State);
        Assert.Contains("went away before confirming the kill", running.Next.Job.Reason);
        Assert.Equal(JobState.Cancelled, scheduled.State);
    }

    [Fact]
    public void An_outcome_records_the_exit_and_a_shutdown_kill_is_an_infrastructure_failure_not_the_jobs()
    {
        var job = JobRecords.Stored(JobState.Running, "a", 7, attempts: 1, retries: 0);
        var failed = Settlement.Outcome(job, new JobOutcome(3, 0, false, false, false, null, 1, 0.1, 4, 0), [1], [], Now);
        var shutdown = Settlement.Outcome(job, new JobOutcome(null, 9, false, false, false, null, 1, 0.1, 0, 0) { InfrastructureFailure = "node a shut down" }, [], [], Now);

        Assert.Equal((JobState.Failed, 3), (failed.State, failed.Next.Job.ExitCode));
        Assert.Equal("exited with code 3", failed.Next.Job.Reason);
        Assert.Equal(JobState.Lost, shutdown.State);
        Assert.Contains("node a shut down", shutdown.Next.Job.Reason);
    }

    [Fact]
    public void An_outcome_saves_a_tail_only_for_a_stream_that_has_output()
    {
        var job = JobRecords.Stored(JobState.Running, "a", 7, attempts: 1, retries: 0);
        var ok = new JobOutcome(0, 0, false, false, false, null, 1, 0.1, 4, 0);

        // Always: the run key goes and the out key comes; then one put per tail that holds something.
        Assert.Equal(2, Settlement.Outcome(job, ok, [], [], Now).Ops.Count);
        Assert.Equal(3, Settlement.Outcome(job, ok, [1], [], Now).Ops.Count);
        Assert.Equal(3, Settlement.Outcome(job, ok, [], [2], Now).Ops.Count);
        Assert.Equal(4, Settlement.Outcome(job, ok, [1], [2], Now).Ops.Count);
    }

    [Fact]
    public void An_outcome_with_output_charges_its_tails_to_the_owner_on_top_of_what_the_job_was_charged_when_made()
    {
        var job = JobRecords.Stored(JobState.Running, "a", 7, attempts: 1, owner: "carol");
        job.Record.ChargedBytes = 900;
        var ok = new JobOutcome(0, 0, false, false, false, null, 1, 0.1, 4, 0);

        var usage = Settlement.Outcome(job, ok, [1, 2, 3], [4], Now).Ops.Select(o => o.Request.RequestPut)
            .Where(p => p?.Key.ToStringUtf8() == Keys.UsageEntry("carol", job.Id)).ToList();
        Assert.Equal([Keys.UsageValue(904)], usage.Select(p => p!.Value));

        // No output, nothing to charge; a record made before records carried their charge keeps its usage entry.
        Assert.DoesNotContain(Settlement.Outcome(job, ok, [], [], Now).Ops, o => o.Request.RequestPut?.Key.ToStringUtf8().StartsWith(Keys.Usage) == true);
        job.Record.ChargedBytes = 0;
        Assert.DoesNotContain(Settlement.Outcome(job, ok, [1], [], Now).Ops, o => o.Request.RequestPut?.Key.ToStringUtf8().StartsWith(Keys.Usage) == true);
    }

    [Fact]
    public void A_requeued_job_keeps_the_place_its_creation_gave_it()
    {
        var entry = Transitions.QueueEntryFor(JobRecords.Stored(JobState.Running, "a", 7, createRevision: 1234));

        Assert.Equal(1234, entry.Sequence);
    }

    [Fact]
    public void A_record_whose_creation_is_unknown_is_never_queued_again_at_the_front()
    {
        // A run key's copy of the record (its create revision unknown) must never reach a requeue: it would take sequence 0.
        var copy = JobRecords.Stored(JobState.Running, "a", 7, attempts: 1, retries: 1, createRevision: 0);
        Assert.Throws<InvalidOperationException>(() => Transitions.QueueEntryFor(copy));
        Assert.Throws<InvalidOperationException>(() => Settlement.Orphan(copy, "node a stopped responding", Now));
    }
}
