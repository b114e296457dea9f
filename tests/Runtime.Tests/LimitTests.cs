using System.Diagnostics;

namespace Lcluster.Runtime.Tests;

/// <summary>Limits are the kernel's, through the job's cgroups, and reported.</summary>
public sealed class LimitTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Memory_hog_is_oom_killed()
    {
        var run = await fixture.RunAsync("tail /dev/zero", new Limits { MemoryBytes = 32 << 20, WallTime = TimeSpan.FromSeconds(60) });
        Assert.True(run.Result.OomKilled, run.Evidence);
        Assert.True(run.Result.Signal == 9 || run.Result.ExitCode == 137, run.Evidence);
        Assert.False(run.Result.TimedOut, run.Evidence);
        Assert.InRange(run.Result.PeakMemoryBytes, 24 << 20, 33 << 20);
    }

    [Fact]
    public async Task Fork_bomb_is_held_by_the_pids_limit_and_the_node_survives()
    {
        // PID 1 forks once, before any bomb exists (a subshell that starts it), then waits with builtins only: busybox sh
        // exits when it cannot fork, and a bomb started from PID 1 itself (`bomb | bomb &` forks twice there) could fill
        // the limit between its two forks on a loaded machine.
        var spec = fixture.Spec("bomb() { bomb | bomb & }; (bomb) & while :; do :; done",
            new Limits { Pids = 32, Cpus = 0.5, WallTime = TimeSpan.FromSeconds(3) });
        var container = await fixture.Sandbox.StartAsync(spec, CancellationToken.None);
        var pidsDir = Path.Combine(HostCgroups.Root("pids"), fixture.CgroupParent, spec.JobId);
        long highest = 0, refusals = 0;
        while (!container.Completion.IsCompleted)
        {
            try
            {
                highest = Math.Max(highest, long.Parse(File.ReadAllText(Path.Combine(pidsDir, "pids.current"))));
                refusals = long.Parse(File.ReadAllText(Path.Combine(pidsDir, "pids.events")).Split(' ')[1]);
            }
            catch (Exception e) when (e is IOException or FormatException)
            {
                break; // the cgroup went away with the job
            }
            await Task.Delay(50);
        }
        var result = await container.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(result.TimedOut, $"{result}");
        Assert.True(highest is > 0 and <= 32, $"pids.current peaked at {highest}");
        Assert.True(refusals > 0, $"the kernel never refused a fork (pids.events max {refusals}): the bomb was not held by the limit");
        Assert.Empty(HostCgroups.Existing(fixture.CgroupParent, spec.JobId));
        using var survivor = System.Diagnostics.Process.Start("/bin/true")!; // the node can still fork
        await survivor.WaitForExitAsync();
        Assert.Equal(0, survivor.ExitCode);
    }

    [Fact]
    public async Task Cpu_burner_under_a_fifth_of_a_cpu_gets_about_a_fifth()
    {
        var run = await fixture.RunAsync("while :; do :; done", new Limits { Cpus = 0.2, WallTime = TimeSpan.FromSeconds(3) });
        Assert.True(run.Result.TimedOut, run.Evidence);
        var share = run.Result.CpuTime / run.Result.WallTime;
        // The cap is what this shows (a quota cannot be exceeded by more than a period's rounding); below it, a loaded
        // 2-core machine may give the job less than its fifth.
        Assert.True(share is > 0.02 and < 0.3, $"cpu share {share:F3} (cpu {run.Result.CpuTime} over wall {run.Result.WallTime})\n{run.Evidence}");
    }

    [Fact]
    public async Task Sleep_past_a_one_second_limit_is_timed_out_soon_after_the_second()
    {
        var run = await fixture.RunAsync("sleep 100", new Limits { WallTime = TimeSpan.FromSeconds(1) });
        Assert.True(run.Result.TimedOut, run.Evidence);
        Assert.True(run.Result.Signal == 9 && run.Result.ExitCode is null, run.Evidence);
        // Never before the limit; after it, within what a timer needs on a loaded machine (far below the 100 s asked).
        Assert.InRange(run.Result.WallTime, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.False(run.Result.Killed, run.Evidence);
    }

    [Fact]
    public async Task Small_memory_and_pids_limits_still_run_a_job()
    {
        var run = await fixture.RunAsync("echo ok; echo nested | cat; sh -c 'echo child'",
            new Limits { Pids = 8, MemoryBytes = 8 << 20 });
        Assert.True(run.Result.ExitCode == 0 && run.Result.StartFailure is null, run.Evidence);
        Assert.Equal(["ok", "nested", "child"], run.Lines);
    }

    [Fact]
    public async Task A_memory_limit_too_small_for_the_init_fails_the_start_saying_so()
    {
        var run = await fixture.RunAsync("echo never", new Limits { MemoryBytes = 4096 });
        Assert.True(run.Result.StartFailure?.EndsWith("the memory limit is too small to start a container", StringComparison.Ordinal) == true, run.Evidence);
        Assert.True(run.Result.OomKilled && run.Result.ExitCode is null, run.Evidence);
        Assert.Empty(HostCgroups.Existing(fixture.CgroupParent, run.Spec.JobId));
    }
}
