using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>libc: mounts and the root directory.</summary>
internal static unsafe partial class Libc
{
    public const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32,
        MS_BIND = 4096, MS_REC = 16384, MS_PRIVATE = 1 << 18, MS_STRICTATIME = 1 << 24;
    public const int MNT_DETACH = 2;
    private const long SYS_pivot_root = 155;
    public const uint OPEN_TREE_CLONE = 1, OPEN_TREE_CLOEXEC = 0x80000, MOVE_MOUNT_F_EMPTY_PATH = 4;
    public const int AT_EMPTY_PATH = 0x1000;
    public const ulong MOUNT_ATTR_RDONLY = 0x1, MOUNT_ATTR_IDMAP = 0x100000;

    [LibraryImport(Lib, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string? source, string target, string? fsType, ulong flags, string? data);

    [LibraryImport(Lib, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SyscallPaths(long number, string first, string second);

    /// <summary>open_tree(2) (Linux 5.2): with OPEN_TREE_CLONE a detached copy of the mount at a path.</summary>
    public static int OpenTree(string path, uint flags) => OpenTree(AT_FDCWD, path, flags);

    /// <summary>mount_setattr(2) (Linux 5.12) on the mount an fd refers to.</summary>
    public static int MountSetattr(int fd, MountAttributes* attributes) =>
        MountSetattr(fd, "", AT_EMPTY_PATH, attributes, (nuint)sizeof(MountAttributes));

    /// <summary>move_mount(2) (Linux 5.2): attaches the detached mount an fd refers to at a path.</summary>
    public static int MoveMount(int fd, string target) => MoveMount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);

    /// <summary>pivot_root(2): glibc has no wrapper.</summary>
    public static int PivotRoot(string newRoot, string putOld) => SyscallPaths(SYS_pivot_root, newRoot, putOld);
}

/// <summary>struct mount_attr (MOUNT_ATTR_SIZE_VER0).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MountAttributes
{
    public ulong Set, Clear, Propagation, UserNamespaceFd;
}
