using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>Docker's default capability set, applied to the calling thread before execve.</summary>
internal static unsafe class Capabilities
{
    /// <summary>CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.</summary>
    public const ulong DockerDefault = 0xa80425fb;

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
