namespace Lcluster.Runtime.Cgroups;

/// <summary>The cgroup2 interface files every v2 cgroup has, controllers or not (used by v2 and hybrid).</summary>
internal static class Unified
{
    public static bool CanKill(CgroupFs fs, string dir) => fs.Exists(Path.Combine(dir, "cgroup.kill"));

    /// <summary>cgroup.kill: the kernel SIGKILLs every process in the cgroup and its children (Linux 5.14+).</summary>
    public static void Kill(CgroupFs fs, string dir) => fs.Write(Path.Combine(dir, "cgroup.kill"), "1");

    public static void Freeze(CgroupFs fs, string dir, bool frozen) => fs.Write(Path.Combine(dir, "cgroup.freeze"), frozen ? "1" : "0");

    /// <summary>The cgroup-per-job kill used when cgroup.kill is absent.</summary>
    public static void KillByFreezing(CgroupFs fs, string dir) =>
        Freezing.KillFrozen(fs, () => Freeze(fs, dir, true), () => Freeze(fs, dir, false),
            Path.Combine(dir, "cgroup.procs"));
}
