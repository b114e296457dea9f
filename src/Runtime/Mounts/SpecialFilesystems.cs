using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Mounts;

/// <summary>/proc, a minimal /dev, read-only /sys and /tmp inside the new root.</summary>
internal static class SpecialFilesystems
{
    private const ulong NoSuidExecDev = Libc.MS_NOSUID | Libc.MS_NOEXEC | Libc.MS_NODEV;
    private const uint NodeMode = 0x1B6; // 0666

    /// <summary>
    /// The most pseudo-terminals a job may hold: every devpts instance but the host's draws from one pool of the host
    /// (kernel.pty.max less kernel.pty.reserve, 3072 by default), which one job could otherwise take whole.
    /// </summary>
    public const int MaxPtys = 64;

    private static readonly (string Name, uint Major, uint Minor)[] Devices =
        [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

    private static readonly (string Link, string Target)[] DevLinks =
    [
        ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"),
    ];

    public static void MountProc(string root)
    {
        var target = root + "/proc";
        RootFilesystem.EnsureDirectory(target);
        Errno.Check(Libc.Mount("proc", target, "proc", NoSuidExecDev, null), "mount", "/proc");
    }

    /// <summary>
    /// A tmpfs /dev with the standard nodes, a private devpts, /dev/shm and the std links. In a user namespace mknod is
    /// refused and nodes on a filesystem mounted there never open, so the host's own nodes are bound onto empty files,
    /// as rootless runtimes do (root in the job is nobody to them: it can use them, not change them).
    /// </summary>
    public static void MountDev(string root, bool inUserNamespace)
    {
        var dev = root + "/dev";
        RootFilesystem.EnsureDirectory(dev);
        Errno.Check(Libc.Mount("tmpfs", dev, "tmpfs", Libc.MS_NOSUID | Libc.MS_STRICTATIME, "mode=755,size=65536k"), "mount", "/dev");
        foreach (var (name, major, minor) in Devices)
        {
            var path = dev + "/" + name;
            if (inUserNamespace)
            {
                Libc.Close(Errno.Check(Libc.Open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_CLOEXEC, (int)NodeMode), "create", "/dev/" + name));
                Errno.Check(Libc.Mount("/dev/" + name, path, null, Libc.MS_BIND, null), "bind the host's", "/dev/" + name);
                continue;
            }
            Errno.Check(Libc.Mknod(path, Libc.S_IFCHR | NodeMode, (major << 8) | minor), "mknod", "/dev/" + name);
            Errno.Check(Libc.Chmod(path, NodeMode), "chmod", "/dev/" + name);
        }
        RootFilesystem.EnsureDirectory(dev + "/pts");
        Errno.Check(Libc.Mount("devpts", dev + "/pts", "devpts", Libc.MS_NOSUID | Libc.MS_NOEXEC,
            $"newinstance,ptmxmode=0666,mode=0620,gid=5,max={MaxPtys}"), "mount", "/dev/pts");
        RootFilesystem.EnsureDirectory(dev + "/shm", 0x3FF /* 1777 */);
        Errno.Check(Libc.Mount("shm", dev + "/shm", "tmpfs", NoSuidExecDev, "mode=1777,size=65536k"), "mount", "/dev/shm");
        foreach (var (link, target) in DevLinks)
            Errno.Check(Libc.Symlink(target, dev + "/" + link), "symlink", "/dev/" + link);
    }

    /// <summary>/dev read-only once populated: every writable mount is nodev, so no new node can be used.</summary>
    public static void SealDev(string root) =>
        Errno.Check(Libc.Mount(null, root + "/dev", null,
            Libc.MS_REMOUNT | Libc.MS_BIND | Libc.MS_RDONLY | Libc.MS_NOSUID, null), "remount read-only", "/dev");

    public static void MountSys(string root)
    {
        var target = root + "/sys";
        RootFilesystem.EnsureDirectory(target);
        Errno.Check(Libc.Mount("sysfs", target, "sysfs", NoSuidExecDev | Libc.MS_RDONLY, null), "mount", "/sys");
    }

    /// <summary>A tmpfs /tmp; with a disk limit it holds at most that many bytes too (else a job would write its way around the cap here).</summary>
    public static void MountTmp(string root, long? capBytes)
    {
        var target = root + "/tmp";
        RootFilesystem.EnsureDirectory(target, 0x3FF);
        var options = capBytes is { } cap ? string.Concat("mode=1777,size=", cap.ToString(System.Globalization.CultureInfo.InvariantCulture)) : "mode=1777";
        Errno.Check(Libc.Mount("tmpfs", target, "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV, options), "mount", "/tmp");
    }
}
