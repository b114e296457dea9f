using System.Globalization;

namespace Lcluster.Runtime.Cgroups.V2;

/// <summary>The v2 controller files one job's limits go to.</summary>
internal static class V2Limits
{
    public const string Controllers = "+cpu +memory +pids";

    public static void Apply(CgroupFs fs, string dir, Limits limits)
    {
        if (limits.MemoryBytes is > 0 and var memory)
        {
            fs.Write(Path.Combine(dir, "memory.max"), memory.ToString(CultureInfo.InvariantCulture));
            var swap = Path.Combine(dir, "memory.swap.max");
            if (fs.Exists(swap)) // absent when the kernel has no swap accounting: nothing to limit then
                fs.Write(swap, "0");
        }
        if (limits.Cpus is > 0 and var cpus)
            fs.Write(Path.Combine(dir, "cpu.max"), $"{CpuQuota.Microseconds(cpus)} {CpuQuota.PeriodMicroseconds}");
        if (limits.Pids is > 0 and var pids)
            fs.Write(Path.Combine(dir, "pids.max"), pids.ToString(CultureInfo.InvariantCulture));
    }

    public static CgroupUsage ReadUsage(CgroupFs fs, string dir)
    {
        var peakFile = Path.Combine(dir, "memory.peak");
        var peak = fs.Exists(peakFile) ? fs.ReadLong(peakFile) : 0; // memory.peak needs Linux 5.19
        var cpu = TimeSpan.FromMicroseconds(fs.ReadKey(Path.Combine(dir, "cpu.stat"), "usage_usec"));
        var eventsFile = Path.Combine(dir, "memory.events");
        var oom = fs.Exists(eventsFile) && fs.ReadKey(eventsFile, "oom_kill") > 0;
        return new CgroupUsage(peak, cpu, oom);
    }
}

/// <summary>CFS bandwidth: a fraction of a CPU as quota per 100 ms period.</summary>
internal static class CpuQuota
{
    public const long PeriodMicroseconds = 100_000;

    /// <summary>The kernel refuses quotas under 1 ms.</summary>
    public static long Microseconds(double cpus) => Math.Max(1000, (long)Math.Round(cpus * PeriodMicroseconds));
}
