using System.Text;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime;

/// <summary>
/// rm -rf for trees a job wrote: fd-relative on raw names (any bytes a job
/// chose), unlinking symlinks instead of following them, refusing to cross
/// into another filesystem.
/// </summary>
internal static unsafe class TreeDeletion
{
    public static void Delete(string path)
    {
        var error = Libc.TryStat(path, Libc.AT_SYMLINK_NOFOLLOW, out var mode, out var device);
        if (error == Errno.ENOENT)
            return;
        if (error != 0)
            throw new NativeCallException("statx", path, error);
        if ((mode & Libc.S_IFMT) != Libc.S_IFDIR)
        {
            Errno.Check(Libc.Unlink(path), "unlink", path);
            return;
        }
        var fd = Errno.Check(Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0), "open", path);
        try
        {
            DeleteContents(fd, path, device);
        }
        finally
        {
            Libc.Close(fd);
        }
        Errno.Check(Libc.Rmdir(path), "rmdir", path);
    }

    private static void DeleteContents(int dirFd, string dirPath, ulong device)
    {
        foreach (var name in Names(dirFd, dirPath))
        {
            fixed (byte* n = name)
            {
                StatxBuffer stat;
                Errno.Check(Libc.StatxAt(dirFd, n, Libc.AT_SYMLINK_NOFOLLOW, StatxBuffer.STATX_TYPE, &stat), "statx", Show(dirPath, name));
                var isDirectory = (stat.Mode & Libc.S_IFMT) == Libc.S_IFDIR;
                if (isDirectory)
                {
                    var childDevice = ((ulong)stat.DevMajor << 32) | stat.DevMinor;
                    if (childDevice != device)
                        throw new IOException($"{Show(dirPath, name)} is a mount point; not deleting through it (unmount it, then reap the job again)");
                    var child = Errno.Check(Libc.OpenAt(dirFd, n, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0), "open", Show(dirPath, name));
                    try
                    {
                        DeleteContents(child, Show(dirPath, name), device);
                    }
                    finally
                    {
                        Libc.Close(child);
                    }
                }
                Errno.Check(Libc.UnlinkAt(dirFd, n, isDirectory ? Libc.AT_REMOVEDIR : 0), isDirectory ? "rmdir" : "unlink", Show(dirPath, name));
            }
        }
    }

    /// <summary>The raw, NUL-terminated names in a directory, read before anything is removed.</summary>
    private static List<byte[]> Names(int dirFd, string dirPath)
    {
        var dir = Libc.Fdopendir(Errno.Check(Libc.Dup(dirFd), "dup", dirPath));
        if (dir == 0)
            throw Errno.Fail("fdopendir", dirPath);
        var names = new List<byte[]>();
        try
        {
            DirectoryEntry* entry;
            while ((entry = Libc.Readdir(dir)) != null)
            {
                var span = new ReadOnlySpan<byte>(entry->Name, 256);
                var length = span.IndexOf((byte)0);
                var name = span[..length];
                if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
                    continue;
                var copy = new byte[length + 1];
                name.CopyTo(copy);
                names.Add(copy);
            }
        }
        finally
        {
            Libc.Closedir(dir);
        }
        return names;
    }

    private static string Show(string dirPath, byte[] name) => dirPath + "/" + Encoding.UTF8.GetString(name, 0, name.Length - 1);
}
