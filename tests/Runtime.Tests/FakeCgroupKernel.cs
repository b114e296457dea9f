using Lcluster.Runtime.Cgroups;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Tests;

/// <summary>
/// Plays the kernel in a plain temp directory: mkdir fills a cgroup with its
/// interface files and their initial values, rmdir takes them away again, and
/// every write is logged in order.
/// </summary>
internal sealed class FakeCgroupKernel(IReadOnlyDictionary<string, string> interfaceFiles) : CgroupFs, IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("lcluster-fakecg-").FullName;
    public List<(string Path, string Value)> Writes { get; } = [];

    public static IReadOnlyDictionary<string, string> V2Files { get; } = new Dictionary<string, string>
    {
        ["cgroup.procs"] = "", ["cgroup.kill"] = "", ["cgroup.freeze"] = "0", ["cgroup.events"] = "populated 0\nfrozen 0\n",
        ["cgroup.controllers"] = "cpu memory pids", ["cgroup.subtree_control"] = "",
        ["memory.max"] = "max", ["memory.swap.max"] = "max", ["memory.peak"] = "0",
        ["memory.events"] = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
        ["cpu.max"] = "max 100000", ["cpu.stat"] = "usage_usec 0\nuser_usec 0\nsystem_usec 0\n", ["pids.max"] = "max",
    };

    public static IReadOnlyDictionary<string, string> V1Files { get; } = new Dictionary<string, string>
    {
        ["cgroup.procs"] = "", ["tasks"] = "",
        ["memory.limit_in_bytes"] = "9223372036854771712", ["memory.memsw.limit_in_bytes"] = "9223372036854771712",
        ["memory.max_usage_in_bytes"] = "0", ["memory.oom_control"] = "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
        ["memory.swappiness"] = "60", ["cpu.cfs_period_us"] = "100000", ["cpu.cfs_quota_us"] = "-1",
        ["cpuacct.usage"] = "0", ["pids.max"] = "max", ["freezer.state"] = "THAWED",
    };

    /// <summary>A directory that exists "in the kernel" from the start (a root or a controller mount).</summary>
    public string Mount(string relative = "")
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(path);
        Populate(path);
        return path;
    }

    public override void MakeDirectory(string path, bool mayExist)
    {
        if (Directory.Exists(path))
        {
            if (mayExist)
                return;
            throw new NativeCallException("create cgroup", path, Errno.EEXIST);
        }
        if (!Directory.Exists(Path.GetDirectoryName(path)))
            throw new NativeCallException("create cgroup", path, Errno.ENOENT);
        Directory.CreateDirectory(path);
        Populate(path);
    }

    public override int RemoveDirectory(string path)
    {
        if (!Directory.Exists(path))
            return Errno.ENOENT;
        if (Directory.GetDirectories(path).Length > 0 || File.ReadAllText(Path.Combine(path, "cgroup.procs")).Trim().Length > 0)
            return Errno.EBUSY;
        Directory.Delete(path, recursive: true);
        return 0;
    }

    public override void Write(string path, string value)
    {
        Writes.Add((Path.GetRelativePath(Root, path), value));
        base.Write(path, value);
    }

    public string Read(params string[] relative) => File.ReadAllText(Path.Combine([Root, .. relative]));

    public void Set(string relative, string value) => File.WriteAllText(Path.Combine(Root, relative), value);

    public void Dispose() => Directory.Delete(Root, recursive: true);

    private void Populate(string path)
    {
        foreach (var (name, value) in interfaceFiles)
            File.WriteAllText(Path.Combine(path, name), value);
    }
}
