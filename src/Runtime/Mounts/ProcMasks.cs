using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Mounts;

/// <summary>
/// The masked and read-only paths of Docker's defaults (the OCI runtime spec's example plus
/// <c>/proc/asound</c>, <c>/proc/timer_stats</c>, the RAPL energy counters under
/// <c>/sys/devices/virtual/powercap</c>, a power side channel, and the host's interrupt and
/// thermal-throttling counts per CPU: <c>/proc/interrupts</c> and each
/// <c>/sys/devices/system/cpu/cpuN/thermal_throttle</c>).
/// </summary>
internal static class ProcMasks
{
    public static readonly string[] Masked =
    [
        "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/latency_stats",
        "/proc/interrupts", "/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ];

    public static readonly string[] ReadOnly =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    /// <summary>Files get /dev/null bound over them, directories an empty read-only tmpfs; absent paths are skipped.</summary>
    public static void Mask(string root)
    {
        foreach (var path in Masked.Concat(ThermalThrottle(root)))
        {
            var target = root + path;
            if (!TryType(target, out var mode))
                continue;
            if ((mode & Libc.S_IFMT) == Libc.S_IFDIR)
                Errno.Check(Libc.Mount("tmpfs", target, "tmpfs", Libc.MS_RDONLY | Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC, null), "mask", path);
            else
                Errno.Check(Libc.Mount(root + "/dev/null", target, null, Libc.MS_BIND, null), "mask", path);
        }
    }

    /// <summary>Bind each path over itself, then make that bind read-only.</summary>
    public static void MakeReadOnly(string root)
    {
        const ulong Locked = Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC;
        foreach (var path in ReadOnly)
        {
            var target = root + path;
            if (!TryType(target, out _))
                continue;
            Errno.Check(Libc.Mount(target, target, null, Libc.MS_BIND | Libc.MS_REC, null), "bind", path);
            Errno.Check(Libc.Mount(null, target, null, Libc.MS_BIND | Libc.MS_REMOUNT | Libc.MS_RDONLY | Locked, null), "remount read-only", path);
        }
    }

    /// <summary>/sys/devices/system/cpu/cpuN/thermal_throttle of each CPU that has one (x86 with thermal monitoring).</summary>
    private static IEnumerable<string> ThermalThrottle(string root)
    {
        const string Cpus = "/sys/devices/system/cpu";
        if (!Directory.Exists(root + Cpus))
            return [];
        return Directory.EnumerateDirectories(root + Cpus, "cpu*")
            .Select(Path.GetFileName)
            .Where(name => name!.Length > 3 && name[3..].All(char.IsAsciiDigit))
            .Select(name => $"{Cpus}/{name}/thermal_throttle")
            .Where(path => Directory.Exists(root + path))
            .ToArray();
    }

    private static bool TryType(string path, out uint mode)
    {
        var error = Libc.TryStat(path, Libc.AT_SYMLINK_NOFOLLOW, out mode, out _);
        return error == 0 ? true : error == Errno.ENOENT ? false : throw new NativeCallException("statx", path, error);
    }
}
