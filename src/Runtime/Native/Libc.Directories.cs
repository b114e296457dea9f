using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>libc: fd-relative directory walking on raw (not necessarily UTF-8) names.</summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Lib, EntryPoint = "openat", SetLastError = true)]
    public static partial int OpenAt(int dirFd, byte* name, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "unlinkat", SetLastError = true)]
    public static partial int UnlinkAt(int dirFd, byte* name, int flags);

    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true)]
    public static partial int StatxAt(int dirFd, byte* name, int flags, uint mask, StatxBuffer* buffer);

    [LibraryImport(Lib, EntryPoint = "fdopendir", SetLastError = true)]
    public static partial nint Fdopendir(int fd);

    [LibraryImport(Lib, EntryPoint = "readdir", SetLastError = true)]
    public static partial DirectoryEntry* Readdir(nint dir);

    [LibraryImport(Lib, EntryPoint = "closedir", SetLastError = true)]
    public static partial int Closedir(nint dir);

    [LibraryImport(Lib, EntryPoint = "dup", SetLastError = true)]
    public static partial int Dup(int fd);
}

/// <summary>struct dirent (64-bit glibc): the name starts at byte 19.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DirectoryEntry
{
    public ulong Inode;
    public long Offset;
    public ushort RecordLength;
    public byte Type;
    public fixed byte Name[256];
}
