using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>
/// What a path is, from statx(2): .NET's file APIs tell a directory from the rest, but not a regular file from a
/// fifo, a socket or a device, and opening a fifo to read it waits for a writer that may never come.
/// </summary>
internal static unsafe partial class FileKind
{
    private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 1;
    /// <summary>Offset of stx_mode in struct statx, the same on every Linux architecture.</summary>
    private const int ModeOffset = 28;

    /// <summary>"regular file", "directory", "symbolic link", "fifo", "socket", "character device", "block device"; null if it does not exist.</summary>
    /// <exception cref="IOException">statx failed for another reason than a missing path.</exception>
    public static string? Of(string path, bool followLink)
    {
        var buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, followLink ? 0 : AtSymlinkNoFollow, StatxType, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == 2 ? null : throw new IOException($"cannot look at {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        return (*(ushort*)(buffer + ModeOffset) & 0xF000) switch
        {
            0x8000 => RegularFile,
            0x4000 => Directory,
            0xA000 => SymbolicLink,
            0x1000 => "fifo",
            0xC000 => "socket",
            0x2000 => "character device",
            0x6000 => "block device",
            var other => $"file of type {other >> 12}",
        };
    }

    public const string RegularFile = "regular file", Directory = "directory", SymbolicLink = "symbolic link";

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);
}
