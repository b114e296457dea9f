using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>libc: mounts and the root directory.</summary>
internal static unsafe partial class Libc
{
    public const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32,
        MS_BIND = 4096, MS_REC = 16384, MS_PRIVATE = 1 << 18, MS_STRICTATIME = 1 << 24;
    public const int MNT_DETACH = 2;
    private const long SYS_pivot_root = 155;

    [LibraryImport(Lib, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string? source, string target, string? fsType, ulong flags, string? data);

    [LibraryImport(Lib, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SyscallPaths(long number, string first, string second);

    /// <summary>pivot_root(2): glibc has no wrapper.</summary>
    public static int PivotRoot(string newRoot, string putOld) => SyscallPaths(SYS_pivot_root, newRoot, putOld);
}
