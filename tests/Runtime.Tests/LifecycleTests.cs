using System.Text;

namespace Lcluster.Runtime.Tests;

/// <summary>How a job ends is reported as such; its input and output go where they should.</summary>
public sealed class LifecycleTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(42)]
    public async Task Exit_codes_are_reported(int code)
    {
        var run = await fixture.RunAsync($"echo before; exit {code}");
        Assert.True(run.Result.ExitCode == code && run.Result.Signal is null, run.Evidence);
        Assert.False(run.Result.OomKilled || run.Result.TimedOut || run.Result.Killed, run.Evidence);
        Assert.Null(run.Result.StartFailure);
        Assert.Null(run.Result.InfrastructureFailure);
        Assert.Equal("before\n", run.Stdout);
    }

    [Fact]
    public async Task Death_by_a_signal_from_outside_is_reported_as_the_signal()
    {
        var spec = fixture.Spec("echo up; sleep 100");
        var container = await fixture.Sandbox.StartAsync(spec, CancellationToken.None);
        await WaitForOutputAsync(container, spec);
        Native.Libc.Kill(container.Pid, 9); // an admin's kill -9 of the job's PID 1
        var result = await container.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(result.Signal == 9 && result.ExitCode is null, $"{result}");
        Assert.False(result.Killed || result.TimedOut || result.OomKilled, $"{result}");
    }

    [Fact]
    public async Task Death_by_the_kernels_cpu_rlimit_is_reported_as_sigkill()
    {
        // PID 1 ignores signals it has no handler for, except SIGKILL from the kernel: here the hard RLIMIT_CPU.
        var run = await fixture.RunAsync("ulimit -t 1; while :; do :; done", new Limits { WallTime = TimeSpan.FromSeconds(60) });
        Assert.True(run.Result.Signal == 9 && run.Result.ExitCode is null, run.Evidence);
        Assert.False(run.Result.TimedOut || run.Result.Killed, run.Evidence);
    }

    [Fact]
    public async Task Stdin_arrives_byte_for_byte()
    {
        var stdin = new byte[256 << 10];
        new Random(5).NextBytes(stdin);
        Encoding.ASCII.GetBytes("first line\n").CopyTo(stdin, 0);
        var spec = fixture.Spec("cat", stdin: stdin);
        var run = await fixture.RunAsync(spec);
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.Equal(stdin, File.ReadAllBytes(spec.StdoutPath));
    }

    [Fact]
    public async Task Without_stdin_the_job_reads_dev_null()
    {
        var run = await fixture.RunAsync("cat; echo eof");
        Assert.True(run.Result.ExitCode == 0 && run.Stdout == "eof\n", run.Evidence);
    }

    [Fact]
    public async Task Stdout_and_stderr_are_kept_apart_and_capped_with_a_marker_and_the_job_goes_on()
    {
        var spec = fixture.Spec("head -c 5000 /dev/zero | tr '\\0' a; head -c 300 /dev/zero | tr '\\0' b >&2; echo late >&2; exit 7", cap: 1000);
        var run = await fixture.RunAsync(spec);
        Assert.True(run.Result.ExitCode == 7, run.Evidence);
        Assert.Equal(5000, run.Result.StdoutBytes);
        Assert.True(run.Result.StdoutTruncated, run.Evidence);
        Assert.Equal(new string('a', 1000) + "\n[lcluster: stdout cut at 1000 bytes; the rest was discarded]\n", run.Stdout);
        Assert.Equal(305, run.Result.StderrBytes);
        Assert.False(run.Result.StderrTruncated, run.Evidence);
        Assert.Equal(new string('b', 300) + "late\n", run.Stderr);
    }

    [Fact]
    public async Task Output_that_reaches_the_cap_exactly_in_one_read_still_gets_the_marker_when_more_follows()
    {
        // 1000 bytes land in one read that ends at the cap; what comes after must still be cut and marked.
        var spec = fixture.Spec("head -c 1000 /dev/zero | tr '\\0' a; sleep 0.3; echo more", cap: 1000);
        var run = await fixture.RunAsync(spec);
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.Equal(1005, run.Result.StdoutBytes);
        Assert.True(run.Result.StdoutTruncated, run.Evidence);
        Assert.Equal(new string('a', 1000) + "\n[lcluster: stdout cut at 1000 bytes; the rest was discarded]\n", run.Stdout);
    }

    [Fact]
    public async Task Output_of_exactly_the_cap_is_kept_whole_and_not_marked()
    {
        var run = await fixture.RunAsync(fixture.Spec("head -c 1000 /dev/zero | tr '\\0' a", cap: 1000));
        Assert.False(run.Result.StdoutTruncated, run.Evidence);
        Assert.Equal(new string('a', 1000), run.Stdout);
    }

    [Fact]
    public async Task A_rootfs_without_bin_sh_fails_with_a_clear_reason_and_leaves_nothing()
    {
        var rootfs = Path.Combine(fixture.Work, "no-shell-rootfs");
        foreach (var dir in new[] { "etc", "proc", "dev", "sys", "tmp" })
            Directory.CreateDirectory(Path.Combine(rootfs, dir));
        var spec = fixture.Spec("echo never", rootFs: rootfs);
        var run = await fixture.RunAsync(spec);
        Assert.True(run.Result.StartFailure == "rootfs has no /bin/sh", run.Evidence);
        Assert.True(run.Result.ExitCode is null && run.Result.Signal is null, run.Evidence);
        Assert.Equal("", run.Stdout);
        Assert.Empty(HostCgroups.Existing(fixture.CgroupParent, spec.JobId));
        Assert.False(Directory.Exists(Path.Combine(fixture.JobsDirectory, spec.JobId)));
    }

    [Fact]
    public async Task Killing_a_job_that_spawned_a_tree_and_ignores_sigterm_leaves_no_process()
    {
        var spec = fixture.Spec(
            "trap '' TERM; (sleep 1000 & sleep 1000 & wait) & sh -c \"trap '' TERM; sleep 1000\" & sleep 1000 & echo started; wait");
        var container = await fixture.Sandbox.StartAsync(spec, CancellationToken.None);
        await WaitForOutputAsync(container, spec);
        HostProcess[] tree = [];
        for (var i = 0; i < 200 && tree.Length < 6; i++)
        {
            tree = HostCgroups.Processes(fixture.CgroupParent, spec.JobId).Select(HostProcess.Find).OfType<HostProcess>().ToArray();
            await Task.Delay(20);
        }
        Assert.True(tree.Length >= 6, $"expected the shell, a subshell and 4 sleeps (one maybe under an inner sh); cgroup.procs has {tree.Length}");
        await container.KillAsync();
        var result = await container.Completion;
        Assert.True(result.Killed && result.Signal == 9, $"{result}");
        var survivors = tree.Where(p => p.IsAlive).ToArray();
        Assert.True(survivors.Length == 0, $"still alive after KillAsync: {string.Join(", ", survivors)}");
        Assert.Empty(HostCgroups.Existing(fixture.CgroupParent, spec.JobId));
    }

    [Fact]
    public async Task Several_jobs_at_once_each_get_their_own_output_and_exit_code()
    {
        var runs = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            fixture.RunAsync($"echo job {i} $LCLUSTER_JOB_ID; hostname; exit {i}")));
        foreach (var (run, i) in runs.Select((r, i) => (r, i)))
        {
            Assert.True(run.Result.ExitCode == i, run.Evidence);
            Assert.Equal([$"job {i} {run.Spec.JobId}", run.Spec.Hostname], run.Lines);
        }
    }

    private static async Task WaitForOutputAsync(Container container, SandboxSpec spec)
    {
        for (var i = 0; i < 600 && container.StdoutBytes == 0; i++)
            await Task.Delay(20);
        Assert.True(container.StdoutBytes > 0, $"job {spec.JobId} printed nothing in 12 s");
    }
}
