using System.Globalization;

namespace Lcluster.Runtime.Cgroups.V1;

/// <summary>The v1 controller files one job's limits go to.</summary>
internal static class V1Limits
{
    public static void Apply(V1Directories dirs, CgroupFs fs, Limits limits)
    {
        if (limits.MemoryBytes is > 0 and var memory)
        {
            var bytes = memory.ToString(CultureInfo.InvariantCulture);
            fs.Write(Path.Combine(dirs.Memory, "memory.limit_in_bytes"), bytes);
            var memsw = Path.Combine(dirs.Memory, "memory.memsw.limit_in_bytes");
            if (fs.Exists(memsw)) // memory+swap capped at the same value: no swap beyond the limit
                fs.Write(memsw, bytes);
            else
                fs.Write(Path.Combine(dirs.Memory, "memory.swappiness"), "0");
        }
        if (limits.Cpus is > 0 and var cpus)
        {
            fs.Write(Path.Combine(dirs.Cpu, "cpu.cfs_period_us"), V2.CpuQuota.PeriodMicroseconds.ToString(CultureInfo.InvariantCulture));
            fs.Write(Path.Combine(dirs.Cpu, "cpu.cfs_quota_us"), V2.CpuQuota.Microseconds(cpus).ToString(CultureInfo.InvariantCulture));
        }
        if (limits.Pids is > 0 and var pids)
            fs.Write(Path.Combine(dirs.Pids, "pids.max"), pids.ToString(CultureInfo.InvariantCulture));
    }

    public static CgroupUsage ReadUsage(V1Directories dirs, CgroupFs fs)
    {
        var peak = fs.ReadLong(Path.Combine(dirs.Memory, "memory.max_usage_in_bytes"));
        var cpu = TimeSpan.FromTicks(fs.ReadLong(Path.Combine(dirs.Cpuacct, "cpuacct.usage")) / 100);
        var oom = fs.ReadKey(Path.Combine(dirs.Memory, "memory.oom_control"), "oom_kill") > 0;
        return new CgroupUsage(peak, cpu, oom);
    }
}

/// <summary>One job's directory in each v1 hierarchy (the same path twice when controllers share a mount).</summary>
internal sealed record V1Directories(string Memory, string Cpu, string Cpuacct, string Pids, string? Freezer, string? Unified)
{
    /// <summary>Each distinct directory once, for mkdir, cgroup.procs and rmdir.</summary>
    public IReadOnlyList<string> Distinct =>
        new[] { Memory, Cpu, Cpuacct, Pids, Freezer, Unified }.OfType<string>().Distinct().ToArray();
}
