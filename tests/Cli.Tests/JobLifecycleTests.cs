using System.Text.Json;
using Lcluster.TestSupport;

namespace Lcluster.Cli.Tests;

[Collection("single node")]
public sealed class JobLifecycleTests(SingleNode node)
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_spec_example_prints_a_uuid_then_reports_failed_with_exit_code_3_and_its_output()
    {
        var id = await node.AddAsync("--addjob=echo hello; exit 3");

        var job = await node.WaitForStateAsync(id, Soon, "succeeded", "failed");
        Assert.Equal("failed", job.GetProperty("state").GetString());
        Assert.Equal(3, job.GetProperty("exit_code").GetInt32());
        Assert.Equal(node.Daemon.NodeName, job.GetProperty("node").GetString());
        Assert.Equal(1, job.GetProperty("attempts").GetInt32());
        Assert.Contains("exited with code 3", job.GetProperty("reason").GetString());
        foreach (var time in new[] { "submitted_at", "started_at", "finished_at" })
            Assert.EndsWith("Z", job.GetProperty(time).GetString());

        var human = await node.RunAsync($"--checkjob={id}");
        Assert.Equal(0, human.ExitCode);
        Assert.Matches(@"state:\s+failed", human.Stdout);
        Assert.Matches(@"exit code:\s+3", human.Stdout);

        var output = await node.RunAsync($"--output={id}");
        Assert.Equal(0, output.ExitCode);
        Assert.Equal("hello\n", output.Stdout);
    }

    [Fact]
    public async Task Wait_copies_stdout_and_stderr_and_exits_with_the_jobs_code()
    {
        var result = await node.RunAsync("--addjob=echo out; echo err >&2; exit 42", "--wait");

        Assert.Equal(42, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^[0-9a-f-]{36}$", lines[0]);
        Assert.Equal("out", lines[1]);
        Assert.Equal("err\n", result.Stderr);
    }

    [Fact]
    public async Task Wait_of_a_job_killed_by_a_signal_exits_with_128_plus_the_signal()
    {
        // The job's shell is PID 1 of its namespace, which its own signals cannot kill: the time limit's SIGKILL can.
        var result = await node.RunAsync("--addjob=sleep 30", "--time=1s", "--wait");

        Assert.Equal(128 + 9, result.ExitCode);
        Assert.Contains("time limit", result.Stderr);
    }

    [Fact]
    public async Task Removing_a_running_job_kills_its_whole_container_and_ends_it_cancelled_within_two_seconds()
    {
        var id = await node.AddAsync("--addjob=sleep 100 & sleep 100");
        await node.WaitForStateAsync(id, Soon, "running");
        await WaitUntilAsync(() => HostProcesses.OfJob(id).Count >= 2, "the job's processes to appear");

        var started = DateTime.UtcNow;
        var removed = await node.RunAsync($"--removejob={id}");
        var job = await node.WaitForStateAsync(id, TimeSpan.FromSeconds(2), "cancelled");

        Assert.Equal(0, removed.ExitCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2.5), $"took {(DateTime.UtcNow - started).TotalSeconds:0.0}s");
        Assert.Equal(JsonValueKind.Null, job.GetProperty("exit_code").ValueKind);
        Assert.Empty(HostProcesses.OfJob(id));
    }

    [Fact]
    public async Task Jobs_removed_right_after_they_are_added_all_end_cancelled_whatever_step_they_had_reached()
    {
        // Each removal races placement, the start and the container: every window between them gets hit.
        var ids = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            var id = await node.AddAsync("--addjob=sleep 30");
            if (i % 3 != 0)
                await Task.Delay(i * 5);
            var removed = await node.RunAsync($"--removejob={id}");
            Assert.True(removed.ExitCode == 0, removed.ToString());
            ids.Add(id);
        }
        foreach (var id in ids)
        {
            var job = await node.WaitForStateAsync(id, TimeSpan.FromSeconds(15), "cancelled", "succeeded", "failed", "lost");
            Assert.True(job.GetProperty("state").GetString() == "cancelled", job.ToString());
            Assert.Empty(HostProcesses.OfJob(id));
        }
    }

    [Fact]
    public async Task Removing_a_job_queued_behind_busy_slots_means_it_never_runs()
    {
        var busy = new[] { await node.AddAsync("--addjob=sleep 60"), await node.AddAsync("--addjob=sleep 60") };
        foreach (var id in busy)
            await node.WaitForStateAsync(id, Soon, "running");
        var waiting = await node.AddAsync("--addjob=echo should-never-run");
        await Task.Delay(300);
        Assert.Equal("queued", (await node.CheckAsync(waiting)).GetProperty("state").GetString());

        var removed = await node.RunAsync($"--removejob={waiting}");
        foreach (var id in busy)
            await node.RunAsync($"--removejob={id}");
        foreach (var id in busy)
            await node.WaitForStateAsync(id, Soon, "cancelled");
        await Task.Delay(500);

        Assert.Equal(0, removed.ExitCode);
        var job = await node.CheckAsync(waiting);
        Assert.Equal("cancelled", job.GetProperty("state").GetString());
        Assert.Equal(0, job.GetProperty("attempts").GetInt32());
        Assert.Equal(JsonValueKind.Null, job.GetProperty("started_at").ValueKind);
        Assert.Equal("", (await node.RunAsync($"--output={waiting}")).Stdout);
    }

    [Fact]
    public async Task A_memory_hog_over_its_limit_is_oom_killed()
    {
        var id = await node.AddAsync("--addjob=a=x; while true; do a=$a$a; done", "--memory=32M");

        var job = await node.WaitForStateAsync(id, Soon, "failed", "succeeded");

        Assert.True(job.GetProperty("oom_killed").GetBoolean(), job.ToString());
        Assert.Equal(33554432, job.GetProperty("limits").GetProperty("memory_bytes").GetInt64());
        Assert.Contains("out of memory", job.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_job_over_its_time_limit_is_timed_out()
    {
        var id = await node.AddAsync("--addjob=sleep 60", "--time=1s");

        var job = await node.WaitForStateAsync(id, Soon, "failed", "succeeded");

        Assert.True(job.GetProperty("timed_out").GetBoolean(), job.ToString());
        Assert.Equal(1, job.GetProperty("limits").GetProperty("time_seconds").GetDouble());
        var ran = DateTimeOffset.Parse(job.GetProperty("finished_at").GetString()!) - DateTimeOffset.Parse(job.GetProperty("started_at").GetString()!);
        Assert.InRange(ran.TotalSeconds, 0.9, 5);
    }

    [Fact]
    public async Task Env_stdin_and_the_job_id_reach_the_job()
    {
        var result = await node.RunWithStdinAsync("piped input\n"u8.ToArray(),
            "--addjob=echo \"$GREETING $LCLUSTER_JOB_ID\"; cat", "--env=GREETING=hi", "--stdin=-", "--wait");

        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"hi {lines[0]}", lines[1]);
        Assert.Equal("piped input", lines[2]);
    }

    [Fact]
    public async Task Output_follow_streams_while_the_job_runs_and_ends_with_it()
    {
        var id = await node.AddAsync("--addjob=echo one; sleep 3; echo two; echo err >&2");
        var follow = node.RunAsync($"--output={id}", "--follow");
        await node.WaitForStateAsync(id, Soon, "running");
        // "running" is recorded before the container starts: read until its first line is there (it then has 3 s alone).
        var early = await node.RunAsync($"--output={id}");
        var deadline = DateTime.UtcNow + Soon;
        while (early.Stdout.Length == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            early = await node.RunAsync($"--output={id}");
        }

        var streamed = await follow;
        var job = await node.CheckAsync(id);

        Assert.Equal("one\n", early.Stdout);
        Assert.Equal(0, streamed.ExitCode);
        Assert.Equal("one\ntwo\n", streamed.Stdout);
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal("err\n", (await node.RunAsync($"--output={id}", "--stderr")).Stdout);
    }

    [Fact]
    public async Task Removing_a_finished_job_deletes_it_and_its_output()
    {
        var id = await node.AddAsync("--addjob=echo gone");
        await node.WaitForStateAsync(id, Soon, "succeeded");

        var removed = await node.RunAsync($"--removejob={id}");
        var check = await node.RunAsync($"--checkjob={id}");
        var output = await node.RunAsync($"--output={id}");

        Assert.Equal(0, removed.ExitCode);
        Assert.Contains("deleted", removed.Stdout);
        Assert.Equal(3, check.ExitCode);
        Assert.Equal(3, output.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(node.Daemon.DataDir, "output", id)), "the output directory is still there");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Soon;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}

[CollectionDefinition("single node")]
public sealed class SingleNodeCollection : ICollectionFixture<SingleNode>;
