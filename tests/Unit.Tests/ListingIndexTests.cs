using Google.Protobuf.WellKnownTypes;
using Lcluster.Daemon.Store;
using Lcluster.V1;

namespace Lcluster.Unit.Tests;

public sealed class ListingIndexTests
{
    private static readonly JobState[] States = [JobState.Queued, JobState.Running, JobState.Succeeded, JobState.Failed];

    private static JobRecord Record(string id, DateTimeOffset submitted, JobState state, string owner, string name) => new()
    {
        Job = new Job { Id = id, State = state, Owner = owner, Name = name, SubmittedAt = Timestamp.FromDateTimeOffset(submitted) },
    };

    [Fact]
    public void Order_keys_compare_as_their_text_does_and_read_back_from_it()
    {
        var random = new Random(7);
        var keys = Enumerable.Range(0, 500)
            .Select(i => OrderKey.Of(Record($"{random.Next(1000):x3}-{i}", JobRecords.Submitted.AddTicks(random.Next(50)), JobState.Queued, "a", "").Job))
            .ToList();

        Assert.Equal(keys.Select(k => k.ToString()).Order(StringComparer.Ordinal), keys.Order().Select(k => k.ToString()));
        Assert.All(keys, k => Assert.Equal(k, OrderKey.Parse(k.ToString())));
        Assert.Null(OrderKey.Parse("not-an-order-key"));
        Assert.Null(OrderKey.Parse("12345678901234567890"));
    }

    /// <summary>
    /// Random puts, moves and deletions; after each round every filter's pages, followed token to
    /// token, must be exactly what a plain sort and filter of the jobs gives.
    /// </summary>
    [Fact]
    public void Pages_followed_to_the_end_are_the_filtered_jobs_newest_first()
    {
        var random = new Random(2026);
        var index = new ListingIndex();
        var jobs = new Dictionary<string, JobRecord>();
        var revision = 0L;
        for (var round = 0; round < 30; round++)
        {
            for (var change = 0; change < 60; change++)
            {
                revision++;
                if (jobs.Count > 0 && random.Next(5) == 0)
                {
                    var id = jobs.Keys.ElementAt(random.Next(jobs.Count));
                    jobs.Remove(id);
                    index.Remove(id);
                    continue;
                }
                var existing = jobs.Count > 0 && random.Next(2) == 0 ? jobs.Values.ElementAt(random.Next(jobs.Count)) : null;
                var record = existing?.Clone() ?? Record($"job-{revision:D5}", JobRecords.Submitted.AddSeconds(random.Next(40)),
                    JobState.Queued, random.Next(3) == 0 ? "bob" : "alice", random.Next(4) == 0 ? "nightly" : "");
                record.Job.State = States[random.Next(States.Length)];
                jobs[record.Job.Id] = record;
                index.Put(record, revision);
            }
            index.Remove("no-such-job");
            Assert.Equal(jobs.Count, index.Count);

            foreach (var state in States.Append(JobState.Unspecified))
            foreach (var owner in new string?[] { null, "alice", "bob", "carol" })
            foreach (var name in new string?[] { null, "nightly" })
            {
                var filter = new JobFilter(state, owner, name);
                var expected = jobs.Values
                    .Where(r => (state == JobState.Unspecified || r.Job.State == state) && (owner is null || r.Job.Owner == owner) && (name is null || r.Job.Name == name))
                    .Select(r => r.Job.Id)
                    .OrderBy(id => OrderKey.Of(jobs[id].Job))
                    .ToList();
                var pageSize = 1 + random.Next(12);
                var listed = new List<string>();
                OrderKey? after = null;
                while (true)
                {
                    var (page, more) = index.Select(filter, pageSize, after);
                    Assert.True(page.Count == pageSize || !more);
                    Assert.All(page, e => Assert.Equal(jobs[e.Key.Id].Job.State, e.State));
                    listed.AddRange(page.Select(e => e.Key.Id));
                    if (!more)
                        break;
                    after = OrderKey.Parse(page[^1].Key.ToString());
                }
                Assert.Equal(expected, listed);
            }
        }
    }

    [Fact]
    public void A_token_whose_job_was_deleted_or_moved_since_goes_on_right_after_where_that_job_was()
    {
        var index = new ListingIndex();
        var records = Enumerable.Range(0, 6)
            .Select(i => Record($"job-{i}", JobRecords.Submitted.AddSeconds(-i), JobState.Succeeded, i % 2 == 0 ? "alice" : "bob", ""))
            .ToList();
        foreach (var (record, i) in records.Select((r, i) => (r, i)))
            index.Put(record, 10 + i);
        var succeeded = new JobFilter(JobState.Succeeded, null, null);
        var (first, _) = index.Select(succeeded, 2, null);
        Assert.Equal(["job-0", "job-1"], first.Select(e => e.Key.Id));

        index.Remove("job-1");
        Assert.Equal(["job-2", "job-3"], index.Select(succeeded, 2, first[^1].Key).Page.Select(e => e.Key.Id));
        var requeued = records[2].Clone();
        requeued.Job.State = JobState.Queued;
        index.Put(requeued, 20);
        Assert.Equal(["job-3", "job-4"], index.Select(succeeded, 2, first[^1].Key).Page.Select(e => e.Key.Id));
        Assert.Equal(["job-4"], index.Select(new JobFilter(JobState.Succeeded, "alice", null), 2, first[^1].Key).Page.Select(e => e.Key.Id));
        Assert.Equal(["job-2"], index.Select(new JobFilter(JobState.Queued, "alice", null), 2, null).Page.Select(e => e.Key.Id));
    }

    [Fact]
    public void A_page_starting_after_the_last_job_is_empty_and_a_moved_job_keeps_its_revision()
    {
        var index = new ListingIndex();
        var record = Record("a", JobRecords.Submitted, JobState.Queued, "alice", "");
        index.Put(record, 5);
        var running = record.Clone();
        running.Job.State = JobState.Running;
        index.Put(running, 9);

        var (all, more) = index.Select(new JobFilter(JobState.Unspecified, null, null), 10, null);
        Assert.False(more);
        Assert.Equal(9, Assert.Single(all).ModRevision);
        Assert.Empty(index.Select(new JobFilter(JobState.Queued, null, null), 10, null).Page);
        Assert.Empty(index.Select(new JobFilter(JobState.Unspecified, null, null), 10, all[0].Key).Page);
    }
}
