using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>Docker's default capability set, applied to the calling thread before execve.</summary>
internal static unsafe class Capabilities
{
    /// <summary>CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.</summary>
    public const ulong DockerDefault = 0xa80425fb;

    /// <summary>Capability names by number (linux/capability.h), as seccomp profiles name them.</summary>
    private static readonly string[] Names =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    /// <summary>The names of the capabilities in a set.</summary>
    public static IReadOnlySet<string> NamesIn(ulong set) =>
        Enumerable.Range(0, Names.Length).Where(cap => (set & (1UL << cap)) != 0).Select(cap => Names[cap]).ToHashSet();

    /// <summary>
    /// Bounding, permitted and effective become Docker's set; inheritable is
    /// emptied and ambient cleared (as runc does since CVE-2022-29162).
    /// </summary>
    public static void ReduceToDockerDefault()
    {
        for (var cap = 0; cap < 64; cap++)
        {
            if ((DockerDefault & (1UL << cap)) != 0)
                continue;
            var present = Libc.Prctl(Libc.PR_CAPBSET_READ, (ulong)cap, 0, 0, 0);
            if (present == -1)
                break; // past the kernel's last capability
            if (present == 1)
                Errno.Check(Libc.Prctl(Libc.PR_CAPBSET_DROP, (ulong)cap, 0, 0, 0), "drop bounding capability", cap.ToString());
        }
        var header = new CapHeader { Version = CapHeader.Version3, Pid = 0 };
        var data = stackalloc CapData[2];
        data[0] = new CapData { Effective = (uint)DockerDefault, Permitted = (uint)DockerDefault };
        data[1] = new CapData { Effective = (uint)(DockerDefault >> 32), Permitted = (uint)(DockerDefault >> 32) };
        Errno.Check(Libc.Capset(&header, data), "capset", "docker default set");
        Errno.Check(Libc.Prctl(Libc.PR_CAP_AMBIENT, Libc.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities");
    }
}
