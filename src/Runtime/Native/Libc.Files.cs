using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>libc: file descriptors, files and directories.</summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_TRUNC = 0x200,
        O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000;
    public const int F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, FD_CLOEXEC = 1, F_DUPFD_CLOEXEC = 1030;
    public const int CLOSE_RANGE_CLOEXEC = 4;
    /// <summary>rwxr-xr-x: directories the daemon makes for itself.</summary>
    public const uint Mode0755 = 0b111_101_101;

    public const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200;
    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFCHR = 0x2000, S_IFLNK = 0xA000, S_IFREG = 0x8000;

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nint count);

    public const uint MFD_CLOEXEC = 1;
    public const int SEEK_SET = 0, SEEK_CUR = 1;

    [LibraryImport(Lib, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport(Lib, EntryPoint = "lseek", SetLastError = true)]
    public static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport(Lib, EntryPoint = "pipe2", SetLastError = true)]
    public static partial int Pipe2(int* fds, int flags);

    [LibraryImport(Lib, EntryPoint = "dup2", SetLastError = true)]
    public static partial int Dup2(int oldFd, int newFd);

    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport(Lib, EntryPoint = "close_range", SetLastError = true)]
    public static partial int CloseRange(uint first, uint last, int flags);

    public const int X_OK = 1;

    /// <summary>access(2): for X_OK, EACCES also on a filesystem mounted noexec, as execve would answer.</summary>
    [LibraryImport(Lib, EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Access(string path, int mode);

    [LibraryImport(Lib, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mkdir(string path, uint mode);

    [LibraryImport(Lib, EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Rmdir(string path);

    [LibraryImport(Lib, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    [LibraryImport(Lib, EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mknod(string path, uint mode, ulong dev);

    [LibraryImport(Lib, EntryPoint = "symlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Symlink(string target, string linkPath);

    [LibraryImport(Lib, EntryPoint = "chdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chdir(string path);

    [LibraryImport(Lib, EntryPoint = "fchdir", SetLastError = true)]
    public static partial int Fchdir(int fd);

    [LibraryImport(Lib, EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chmod(string path, uint mode);

    [LibraryImport(Lib, EntryPoint = "umask")]
    public static partial uint Umask(uint mask);

    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Statx(int dirFd, string path, int flags, uint mask, StatxBuffer* buffer);

    [LibraryImport(Lib, EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Statfs(string path, StatfsBuffer* buffer);

    /// <summary>Makes a pipe whose both ends close on exec; returns (read, write).</summary>
    public static (int Read, int Write) MakePipe(string purpose)
    {
        int* fds = stackalloc int[2];
        Errno.Check(Pipe2(fds, O_CLOEXEC), "pipe2", purpose);
        return (fds[0], fds[1]);
    }

    /// <summary>Writes all of a buffer, retrying on short writes and EINTR.</summary>
    public static void WriteAll(int fd, ReadOnlySpan<byte> data, string what)
    {
        fixed (byte* p = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var n = Write(fd, p + done, data.Length - done);
                if (n < 0)
                {
                    if (Errno.Last == Errno.EINTR)
                        continue;
                    throw Errno.Fail("write", what);
                }
                done += (int)n;
            }
        }
    }

    /// <summary>statx without exceptions (the init avoids their first-throw cost); returns 0 or the errno.</summary>
    public static int TryStat(string path, int flags, out uint mode, out ulong device)
    {
        StatxBuffer buffer;
        if (Statx(AT_FDCWD, path, flags, StatxBuffer.STATX_TYPE | StatxBuffer.STATX_MODE, &buffer) == -1)
        {
            mode = 0;
            device = 0;
            return Errno.Last;
        }
        mode = buffer.Mode;
        device = ((ulong)buffer.DevMajor << 32) | buffer.DevMinor;
        return 0;
    }

    /// <summary>The f_type magic number of the filesystem holding a path.</summary>
    public static long FilesystemMagic(string path)
    {
        StatfsBuffer buffer;
        Errno.Check(Statfs(path, &buffer), "statfs", path);
        return buffer.Type;
    }
}

/// <summary>struct statx: the same layout on every Linux architecture.</summary>
[StructLayout(LayoutKind.Sequential, Size = 256)]
internal struct StatxBuffer
{
    public const uint STATX_TYPE = 1, STATX_MODE = 2, STATX_UID = 8, STATX_GID = 0x10, STATX_INO = 0x100;
    public uint Mask, BlockSize;
    public ulong Attributes;
    public uint Links, Uid, Gid;
    public ushort Mode, Spare0;
    public ulong Inode, Size, Blocks, AttributesMask;
    public ulong ATime0, ATime1, BTime0, BTime1, CTime0, CTime1, MTime0, MTime1;
    public uint RDevMajor, RDevMinor, DevMajor, DevMinor;
}

/// <summary>struct statfs: only f_type (first word on 64-bit Linux) is read.</summary>
[StructLayout(LayoutKind.Sequential, Size = 128)]
internal struct StatfsBuffer
{
    public long Type;
}
