using System.Diagnostics;
using Lcluster.Runtime.Cgroups;
using Lcluster.Runtime.Cgroups.V1;
using Lcluster.Runtime.Cgroups.V2;
using Lcluster.TestSupport;

namespace Lcluster.Runtime.Tests;

/// <summary>The cgroup code against this host's real hierarchies, outside any container.</summary>
public sealed class CgroupHostTests : IDisposable
{
    private readonly string _parent = $"{SandboxFixture.TestCgroupRoot}/{Guid.NewGuid():N}";
    private readonly List<Process> _started = [];

    public void Dispose()
    {
        foreach (var process in _started)
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            process.Dispose();
        }
        HostCgroups.RemoveTree(_parent);
        HostCgroups.RemoveIfEmpty(SandboxFixture.TestCgroupRoot);
    }

    [Fact]
    public void Detection_matches_how_the_host_mounts_cgroups()
    {
        var mounts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(" - ")))
            mounts[line[0].Split(' ')[4]] = line[1].Split(' ')[0]; // the last mount on a path is the visible one
        var expected = mounts.GetValueOrDefault("/sys/fs/cgroup") switch
        {
            "cgroup2" => CgroupMode.V2,
            "tmpfs" when mounts.GetValueOrDefault("/sys/fs/cgroup/unified") == "cgroup2" => CgroupMode.Hybrid,
            "tmpfs" => CgroupMode.V1,
            var other => throw new InvalidOperationException($"/sys/fs/cgroup is {other}"),
        };
        Assert.Equal(expected, CgroupModes.Detect("/sys/fs/cgroup"));
    }

    [Fact]
    public async Task The_v2_code_kills_a_process_tree_with_cgroup_kill_and_removes_the_cgroup_on_a_real_cgroup2()
    {
        Requires.Root();
        var unified = CgroupModes.Detect("/sys/fs/cgroup") == CgroupMode.V2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
        Assert.True(Directory.Exists(unified), "this host has no cgroup2 hierarchy");
        var tree = new V2Tree(CgroupFs.Kernel, unified, _parent);
        var job = tree.Create("job-v2", Limits.None);
        var tree_ = await StartTreeInAsync(job);
        job.KillAll();
        await WaitUntilGoneAsync(job, tree_);
        await job.RemoveAsync(CancellationToken.None);
        Assert.False(Directory.Exists(Path.Combine(unified, _parent, "job-v2")));
        tree.RemoveParentIfEmpty();
        Assert.False(Directory.Exists(Path.Combine(unified, _parent)));
    }

    [Fact]
    public async Task The_v1_freezer_path_kills_a_process_tree_when_cgroup_kill_is_not_used()
    {
        Requires.Root();
        Assert.True(CgroupModes.Detect("/sys/fs/cgroup") != CgroupMode.V2, "this host has no v1 hierarchies");
        var tree = new V1Tree(CgroupFs.Kernel, "/sys/fs/cgroup", _parent, hybrid: false) { UseUnifiedKill = false };
        var job = tree.Create("job-v1", new Limits { Pids = 10 });
        var processes = await StartTreeInAsync(job);
        job.KillAll();
        await WaitUntilGoneAsync(job, processes);
        Assert.Equal("THAWED", File.ReadAllText($"/sys/fs/cgroup/freezer/{_parent}/job-v1/freezer.state").Trim());
        await job.RemoveAsync(CancellationToken.None);
        Assert.Empty(HostCgroups.Existing(_parent, "job-v1"));
        tree.RemoveParentIfEmpty();
    }

    /// <summary>A shell moved into the cgroup first, then told to fork two sleeps there.</summary>
    private async Task<HostProcess[]> StartTreeInAsync(IJobCgroup job)
    {
        var shell = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "read go; sleep 1000 & sleep 1000 & wait"])
        {
            RedirectStandardInput = true,
        })!;
        _started.Add(shell);
        job.AddProcess(shell.Id);
        await shell.StandardInput.WriteLineAsync("go");
        await shell.StandardInput.FlushAsync();
        HostProcess[] tree = [];
        for (var i = 0; i < 500 && tree.Length < 3; i++)
        {
            tree = job.Processes().Select(HostProcess.Find).OfType<HostProcess>().ToArray();
            await Task.Delay(20);
        }
        Assert.True(tree.Length == 3, $"expected the shell and two sleeps in the cgroup, found {tree.Length}");
        return tree;
    }

    private static async Task WaitUntilGoneAsync(IJobCgroup job, HostProcess[] tree)
    {
        for (var i = 0; i < 500 && (job.Processes().Count > 0 || tree.Any(p => p.IsAlive)); i++)
            await Task.Delay(20);
        Assert.True(job.Processes().Count == 0, $"still in the cgroup: {string.Join(", ", job.Processes())}");
        Assert.True(tree.All(p => !p.IsAlive), $"still alive: {string.Join(", ", tree.Where(p => p.IsAlive))}");
    }
}
