using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>
/// libc: the mount API that makes a job's /work (a detached mount held by an fd, moved into the
/// container by its init) and the fd-relative calls that fill and read it without following links.
/// </summary>
internal static unsafe partial class Libc
{
    public const uint FSOPEN_CLOEXEC = 1, FSMOUNT_CLOEXEC = 1;
    public const uint FSCONFIG_SET_STRING = 1, FSCONFIG_CMD_CREATE = 6;
    public const uint MOUNT_ATTR_NOSUID = 0x2, MOUNT_ATTR_NODEV = 0x4;
    public const int O_EXCL = 0x80;
    public const ulong RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08;
    private const long SYS_openat2 = 437;

    [LibraryImport(Lib, EntryPoint = "fsopen", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FsOpen(string fsName, uint flags);

    [LibraryImport(Lib, EntryPoint = "fsconfig", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FsConfig(int fsFd, uint command, string? key, string? value, int aux);

    [LibraryImport(Lib, EntryPoint = "fsmount", SetLastError = true)]
    public static partial int FsMount(int fsFd, uint flags, uint attributes);

    [LibraryImport(Lib, EntryPoint = "open_tree", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenTree(int dirFd, string path, uint flags);

    [LibraryImport(Lib, EntryPoint = "mount_setattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MountSetattr(int dirFd, string path, int flags, MountAttributes* attributes, nuint size);

    [LibraryImport(Lib, EntryPoint = "move_mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MoveMount(int fromDirFd, string fromPath, int toDirFd, string toPath, uint flags);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SyscallOpenat2(long number, int dirFd, string path, OpenHow* how, nuint size);

    [LibraryImport(Lib, EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkdirAt(int dirFd, string name, uint mode);

    [LibraryImport(Lib, EntryPoint = "fchmod", SetLastError = true)]
    public static partial int Fchmod(int fd, uint mode);

    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatxName(int dirFd, string name, int flags, uint mask, StatxBuffer* buffer);

    /// <summary>openat2(2) (glibc has no wrapper): <paramref name="path"/> resolved under <paramref name="dirFd"/> as <paramref name="resolve"/> allows.</summary>
    public static int Openat2(int dirFd, string path, int flags, uint mode, ulong resolve)
    {
        var how = new OpenHow { Flags = (ulong)flags, Mode = mode, Resolve = resolve };
        return SyscallOpenat2(SYS_openat2, dirFd, path, &how, (nuint)sizeof(OpenHow));
    }
}

/// <summary>struct open_how (openat2).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct OpenHow
{
    public ulong Flags, Mode, Resolve;
}
