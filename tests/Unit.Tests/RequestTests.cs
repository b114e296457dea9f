using Lcluster.Daemon.Api;
using Lcluster.Daemon.Store;
using Lcluster.V1;

namespace Lcluster.Unit.Tests;

public sealed class RequestTests
{
    private static readonly LimitPolicy Policy = new(new JobLimits(512L << 20, 1, 4096, 0), new JobLimits(8L << 30, 4, 32768, 0));
    private static readonly Caller Alice = new("alice", IsAdmin: false);

    [Fact]
    public void A_retried_request_names_the_same_jobs_and_another_user_never_the_same()
    {
        Assert.Equal(NewJobs.Id("alice", "r1", 0), NewJobs.Id("alice", "r1", 0));
        Assert.NotEqual(NewJobs.Id("alice", "r1", 0), NewJobs.Id("bob", "r1", 0));
        Assert.NotEqual(NewJobs.Id("alice", "r1", 0), NewJobs.Id("alice", "r1", 1));
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", NewJobs.Id("alice", "r1", 0));
    }

    [Fact]
    public void An_array_is_one_job_per_index_each_knowing_its_array_and_index_in_submission_order()
    {
        var request = RequestRules.ValidateAddJob(new AddJobRequest { Command = "echo $LCLUSTER_ARRAY_INDEX", Array = new ArrayRange { First = 3, Last = 7 } }, Policy);

        var jobs = NewJobs.Build(request, Alice, "req", JobRecords.Submitted);

        Assert.Equal([3, 4, 5, 6, 7], jobs.Select(j => j.Record.Job.ArrayIndex));
        Assert.All(jobs, j => Assert.Equal(jobs[0].Record.Job.Id, j.Record.Job.ArrayId));
        Assert.All(jobs, j => Assert.Equal("alice", j.Record.Job.Owner));
        Assert.Equal([3, 4, 5, 6, 7], jobs.Select(j => j.Entry.ArrayIndex));
    }

    [Fact]
    public void A_job_is_charged_its_spec_its_stdin_and_its_record_three_times_for_the_record_and_its_index_copies()
    {
        var request = RequestRules.ValidateAddJob(new AddJobRequest { Command = "echo hi", Env = { ["A"] = "b" }, Stdin = Google.Protobuf.ByteString.CopyFrom(new byte[100]) }, Policy);
        var job = NewJobs.Build(request, Alice, "r1", DateTimeOffset.UnixEpoch).Single();

        var record = job.Record.Clone();
        record.ChargedBytes = 0;
        Assert.Equal(job.Spec.CalculateSize() + 100 + 3L * record.CalculateSize(), job.StoredBytes);
        Assert.Equal(job.StoredBytes, job.Record.ChargedBytes);
    }

    [Fact]
    public void A_record_keeps_a_preview_of_a_long_command_and_no_environment_while_the_spec_keeps_both_whole()
    {
        var command = "echo " + new string('é', 400);
        var request = RequestRules.ValidateAddJob(new AddJobRequest { Command = command, Env = { ["SECRET"] = "s3cr3t" } }, Policy);

        var job = NewJobs.Build(request, Alice, "req", JobRecords.Submitted).Single();

        Assert.True(System.Text.Encoding.UTF8.GetByteCount(job.Record.Job.Command) <= JobSpecs.PreviewBytes);
        Assert.EndsWith("…", job.Record.Job.Command);
        Assert.Empty(job.Record.Job.Env);
        Assert.Equal(command, job.Spec.Command);
        Assert.Equal("s3cr3t", job.Spec.Env["SECRET"]);
    }

    [Theory]
    [InlineData(0, -1)]
    [InlineData(-1, 5)]
    [InlineData(1, 10_001)]
    public void An_array_that_is_not_a_range_of_at_most_ten_thousand_is_refused(int first, int last)
    {
        var error = Assert.Throws<Grpc.Core.RpcException>(() =>
            RequestRules.ValidateAddJob(new AddJobRequest { Command = "true", Array = new ArrayRange { First = first, Last = last } }, Policy));

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("at most 10000", error.Status.Detail);
    }

    [Theory]
    [InlineData(1e300)]
    [InlineData(365 * 24 * 3600 + 1.0)]
    public void A_time_limit_past_a_year_is_refused_before_any_timer_could_overflow(double seconds)
    {
        var error = Assert.Throws<Grpc.Core.RpcException>(() =>
            RequestRules.ValidateAddJob(new AddJobRequest { Command = "true", Limits = new Limits { TimeSeconds = seconds } }, Policy));

        Assert.Contains("longest lcluster supports", error.Status.Detail);
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData((1L << 50) + 1)]
    public void A_disk_limit_past_a_pebibyte_is_refused_before_a_node_could_overflow_its_size(long bytes)
    {
        // A node with no largest disk limit of its own (the default) would take it, and size the job's /work past long.
        var error = Assert.Throws<Grpc.Core.RpcException>(() =>
            RequestRules.ValidateAddJob(new AddJobRequest { Command = "true", Limits = new Limits { DiskBytes = bytes } }, Policy));

        Assert.Contains("over the largest lcluster supports, 1 PiB", error.Status.Detail);
    }

    [Theory]
    [InlineData("LCLUSTER_JOB_ID")]
    [InlineData("LCLUSTER_ARRAY_INDEX")]
    public void The_variables_the_daemon_sets_cannot_be_given(string name)
    {
        var error = Assert.Throws<Grpc.Core.RpcException>(() =>
            RequestRules.ValidateAddJob(new AddJobRequest { Command = "true", Env = { [name] = "x" } }, Policy));

        Assert.Contains("set by lclusterd", error.Status.Detail);
    }

    [Theory]
    [InlineData("FOO\n")]
    [InlineData("1FOO")]
    [InlineData("A-B")]
    [InlineData("")]
    public void An_environment_variable_name_of_anything_but_letters_digits_and_underscores_is_refused(string name)
    {
        var error = Assert.Throws<Grpc.Core.RpcException>(() =>
            RequestRules.ValidateAddJob(new AddJobRequest { Command = "true", Env = { [name] = "x" } }, Policy));

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("is not valid", error.Status.Detail);
    }

    [Fact]
    public void A_listing_filter_no_job_name_or_owner_could_have_is_refused_and_an_empty_one_means_none()
    {
        Assert.Equal("", RequestRules.Filter("name", ""));
        Assert.Equal("nightly build", RequestRules.Filter("name", "nightly build"));
        Assert.Contains("over the limit", Assert.Throws<Grpc.Core.RpcException>(() => RequestRules.Filter("name", new string('a', 257))).Status.Detail);
        Assert.Contains("control character", Assert.Throws<Grpc.Core.RpcException>(() => RequestRules.Filter("owner", "a\tb")).Status.Detail);
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef\n")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF")]
    [InlineData("0123456789abcdef")]
    public void An_inputs_id_that_is_not_32_lowercase_hex_digits_is_refused(string id)
    {
        var error = Assert.Throws<Grpc.Core.RpcException>(() =>
            RequestRules.ValidateAddJob(new AddJobRequest { Command = "true", Inputs = id }, Policy));

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
    }
}
