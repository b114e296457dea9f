using System.Diagnostics;
using Lcluster.Runtime.Cgroups.V2;

namespace Lcluster.Runtime.Tests;

/// <summary>The v2 code writes the right files with the right values (a fake cgroupfs: this host is hybrid).</summary>
public sealed class CgroupV2FakeTests : IDisposable
{
    private readonly FakeCgroupKernel _kernel = new(FakeCgroupKernel.V2Files);
    private readonly V2Tree _tree;

    public CgroupV2FakeTests()
    {
        _kernel.Mount();
        _tree = new V2Tree(_kernel, _kernel.Root, "lcluster/node-a");
    }

    public void Dispose() => _kernel.Dispose();

    [Fact]
    public void Limits_go_to_memory_max_swap_max_cpu_max_and_pids_max()
    {
        _tree.Create("job-1", new Limits { MemoryBytes = 64 << 20, Cpus = 0.25, Pids = 50 });
        Assert.Equal("67108864", _kernel.Read("lcluster/node-a/job-1/memory.max"));
        Assert.Equal("0", _kernel.Read("lcluster/node-a/job-1/memory.swap.max"));
        Assert.Equal("25000 100000", _kernel.Read("lcluster/node-a/job-1/cpu.max"));
        Assert.Equal("50", _kernel.Read("lcluster/node-a/job-1/pids.max"));
    }

    [Fact]
    public void Controllers_are_delegated_down_every_level_before_the_job_cgroup_is_made()
    {
        _tree.Create("job-1", Limits.None);
        Assert.Equal(
            [("cgroup.subtree_control", "+cpu +memory +pids"), ("lcluster/cgroup.subtree_control", "+cpu +memory +pids"),
             ("lcluster/node-a/cgroup.subtree_control", "+cpu +memory +pids")],
            _kernel.Writes);
        Assert.True(Directory.Exists(Path.Combine(_kernel.Root, "lcluster/node-a/job-1")));
    }

    [Fact]
    public void Only_controllers_a_level_has_are_delegated()
    {
        _kernel.Set("cgroup.controllers", "cpu pids");
        _tree.Create("job-1", Limits.None);
        Assert.Equal(("cgroup.subtree_control", "+cpu +pids"), _kernel.Writes[0]);
    }

    [Fact]
    public void No_limit_means_no_limit_file_is_written()
    {
        _tree.Create("job-1", Limits.None);
        Assert.DoesNotContain(_kernel.Writes, w => w.Path.StartsWith("lcluster/node-a/job-1/", StringComparison.Ordinal));
        Assert.Equal("max", _kernel.Read("lcluster/node-a/job-1/memory.max"));
    }

    [Fact]
    public void A_tiny_cpu_fraction_is_raised_to_the_kernels_minimum_quota()
    {
        _tree.Create("job-1", new Limits { Cpus = 0.001 });
        Assert.Equal("1000 100000", _kernel.Read("lcluster/node-a/job-1/cpu.max"));
    }

    [Fact]
    public void Processes_join_through_cgroup_procs_and_die_through_cgroup_kill()
    {
        var job = _tree.Create("job-1", Limits.None);
        job.AddProcess(4242);
        job.KillAll();
        Assert.Equal([("lcluster/node-a/job-1/cgroup.procs", "4242"), ("lcluster/node-a/job-1/cgroup.kill", "1")],
            _kernel.Writes.Where(w => w.Path.StartsWith("lcluster/node-a/job-1/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Without_cgroup_kill_the_cgroup_is_frozen_its_processes_killed_and_thawed()
    {
        var job = _tree.Create("job-1", Limits.None);
        File.Delete(Path.Combine(_kernel.Root, "lcluster/node-a/job-1/cgroup.kill")); // a kernel before 5.14
        _kernel.Set("lcluster/node-a/job-1/cgroup.events", "populated 1\nfrozen 1\n");
        using var victim = Process.Start("sleep", "1000")!;
        _kernel.Set("lcluster/node-a/job-1/cgroup.procs", $"{victim.Id}\n");
        job.KillAll();
        await victim.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(137, victim.ExitCode); // died of SIGKILL
        Assert.Equal([("lcluster/node-a/job-1/cgroup.freeze", "1"), ("lcluster/node-a/job-1/cgroup.freeze", "0")],
            _kernel.Writes.Where(w => w.Path.StartsWith("lcluster/node-a/job-1/", StringComparison.Ordinal)));
    }

    [Fact]
    public void Usage_comes_from_memory_peak_cpu_stat_and_memory_events()
    {
        var job = _tree.Create("job-1", Limits.None);
        _kernel.Set("lcluster/node-a/job-1/memory.peak", "123456\n");
        _kernel.Set("lcluster/node-a/job-1/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
        _kernel.Set("lcluster/node-a/job-1/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        Assert.Equal(new Cgroups.CgroupUsage(123456, TimeSpan.FromSeconds(2.5), OomKilled: true), job.ReadUsage());
    }

    [Fact]
    public async Task Jobs_are_listed_removed_and_the_parent_goes_when_empty()
    {
        var one = _tree.Create("job-1", Limits.None);
        _tree.Create("job-2", Limits.None);
        Assert.Equal(["job-1", "job-2"], _tree.ListJobs().Order());
        await one.RemoveAsync(CancellationToken.None);
        Assert.Equal(["job-2"], _tree.ListJobs());
        _tree.RemoveParentIfEmpty();
        Assert.True(Directory.Exists(Path.Combine(_kernel.Root, "lcluster/node-a")), "the parent went while a job was in it");
        await _tree.Open("job-2").RemoveAsync(CancellationToken.None);
        _tree.RemoveParentIfEmpty();
        Assert.False(Directory.Exists(Path.Combine(_kernel.Root, "lcluster/node-a")));
    }

    [Fact]
    public void An_existing_job_cgroup_is_refused_as_a_leftover()
    {
        _tree.Create("job-1", Limits.None);
        var e = Assert.Throws<Native.NativeCallException>(() => _tree.Create("job-1", Limits.None));
        Assert.Contains("EEXIST", e.Message);
    }
}
