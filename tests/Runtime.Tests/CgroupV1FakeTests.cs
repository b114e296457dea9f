using Lcluster.Runtime.Cgroups.V1;

namespace Lcluster.Runtime.Tests;

/// <summary>The v1 code's file layout, including controllers that share one mount.</summary>
public sealed class CgroupV1FakeTests : IDisposable
{
    private readonly FakeCgroupKernel _kernel = new(FakeCgroupKernel.V1Files);

    public void Dispose() => _kernel.Dispose();

    [Fact]
    public void Limits_go_to_limit_in_bytes_memsw_cfs_quota_and_pids_max()
    {
        foreach (var controller in new[] { "memory", "cpu", "cpuacct", "pids", "freezer" })
            _kernel.Mount(controller);
        var job = new V1Tree(_kernel, _kernel.Root, "lcluster/node-a", hybrid: false)
            .Create("job-1", new Limits { MemoryBytes = 8 << 20, Cpus = 1.5, Pids = 8 });
        Assert.Equal("8388608", _kernel.Read("memory/lcluster/node-a/job-1/memory.limit_in_bytes"));
        Assert.Equal("8388608", _kernel.Read("memory/lcluster/node-a/job-1/memory.memsw.limit_in_bytes"));
        Assert.Equal("100000", _kernel.Read("cpu/lcluster/node-a/job-1/cpu.cfs_period_us"));
        Assert.Equal("150000", _kernel.Read("cpu/lcluster/node-a/job-1/cpu.cfs_quota_us"));
        Assert.Equal("8", _kernel.Read("pids/lcluster/node-a/job-1/pids.max"));
        job.AddProcess(77);
        foreach (var controller in new[] { "memory", "cpu", "cpuacct", "pids", "freezer" })
            Assert.Equal("77", _kernel.Read(controller, "lcluster/node-a/job-1/cgroup.procs"));
    }

    [Fact]
    public void Co_mounted_cpu_and_cpuacct_get_one_job_directory()
    {
        foreach (var controller in new[] { "memory", "pids", "cpu,cpuacct" })
            _kernel.Mount(controller);
        File.CreateSymbolicLink(Path.Combine(_kernel.Root, "cpu"), "cpu,cpuacct");
        File.CreateSymbolicLink(Path.Combine(_kernel.Root, "cpuacct"), "cpu,cpuacct");
        var job = new V1Tree(_kernel, _kernel.Root, "lcluster", hybrid: false).Create("job-1", new Limits { Cpus = 0.5 });
        Assert.Equal("50000", _kernel.Read("cpu,cpuacct/lcluster/job-1/cpu.cfs_quota_us"));
        _kernel.Set("cpu,cpuacct/lcluster/job-1/cpuacct.usage", "1500000000\n");
        _kernel.Set("memory/lcluster/job-1/memory.max_usage_in_bytes", "4096\n");
        _kernel.Set("memory/lcluster/job-1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        Assert.Equal(new Cgroups.CgroupUsage(4096, TimeSpan.FromSeconds(1.5), OomKilled: true), job.ReadUsage());
    }

    [Fact]
    public void A_missing_controller_is_named()
    {
        _kernel.Mount("memory");
        var e = Assert.Throws<NotSupportedException>(() => new V1Tree(_kernel, _kernel.Root, "lcluster", hybrid: false));
        Assert.Contains("cgroup v1 cpu controller is not mounted", e.Message);
    }
}
