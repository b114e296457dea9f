using Google.Protobuf.WellKnownTypes;
using Lcluster.Daemon.Store;
using Lcluster.V1;

namespace Lcluster.Unit.Tests;

public sealed class JobIndexTests
{
    private static JobRecord Record(string id, DateTimeOffset submitted, JobState state = JobState.Queued, string owner = "alice") => new()
    {
        Job = new Job { Id = id, State = state, Owner = owner, SubmittedAt = Timestamp.FromDateTimeOffset(submitted) },
    };

    [Fact]
    public void Order_keys_sort_the_newest_submission_first()
    {
        var t = JobRecords.Submitted;
        var older = JobIndex.Order(Record("b", t).Job);
        var newer = JobIndex.Order(Record("a", t.AddMilliseconds(1)).Job);
        var sameTime = JobIndex.Order(Record("c", t).Job);

        Assert.True(string.CompareOrdinal(newer, older) < 0);
        Assert.True(string.CompareOrdinal(older, sameTime) < 0); // same time: by id
    }

    [Fact]
    public void A_state_change_moves_both_index_keys_and_an_end_adds_the_retention_key()
    {
        var queued = Record("j", JobRecords.Submitted);
        var failed = queued.Clone();
        failed.Job.State = JobState.Failed;
        failed.Job.FinishedAt = Timestamp.FromDateTimeOffset(JobRecords.Submitted.AddMinutes(1));

        Assert.Equal([JobIndex.StatePrefix(JobState.Queued), JobIndex.OwnerStatePrefix("alice", JobState.Queued)],
            JobIndex.Listed(queued).Select(k => k[..(k.LastIndexOf('/') + 1)]));
        Assert.Empty(JobIndex.Listed(queued).Intersect(JobIndex.Listed(failed)));
        Assert.Null(JobIndex.Expiry(queued));
        Assert.StartsWith(JobIndex.Finished, JobIndex.Expiry(failed));
    }

    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("uid:1000", "uid%3A1000")]
    [InlineData("a/../b", "a%2F..%2Fb")]
    [InlineData("", "%")]
    public void An_owner_becomes_one_key_segment_that_no_other_name_can_reach(string owner, string segment)
    {
        Assert.Equal(segment, JobIndex.Escape(owner));
        Assert.DoesNotContain('/', JobIndex.Escape(owner));
    }

    [Fact]
    public void Retention_keys_below_a_cutoff_are_exactly_the_jobs_that_finished_before_it()
    {
        var cutoff = JobRecords.Submitted.AddHours(1);
        var before = JobIndex.Finished + JobIndex.ExpiryTime(cutoff.AddTicks(-1)) + "-x";
        var after = JobIndex.Finished + JobIndex.ExpiryTime(cutoff) + "-x";

        Assert.True(string.CompareOrdinal(before, JobIndex.Finished + JobIndex.ExpiryTime(cutoff)) < 0);
        Assert.False(string.CompareOrdinal(after, JobIndex.Finished + JobIndex.ExpiryTime(cutoff)) < 0);
    }
}
