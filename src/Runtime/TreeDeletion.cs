using System.Text;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime;

/// <summary>
/// rm -rf for trees a job wrote: fd-relative on raw names (any bytes a job
/// chose), unlinking symlinks instead of following them, refusing to cross
/// into another filesystem. A walk, not a recursion, holding one directory
/// open at a time: a job can make a tree as deep as it likes (mkdir in a loop),
/// and neither the stack nor the descriptors of the node that deletes it grow
/// with its depth. It climbs back through "..", checked to be the directory it
/// came down from.
/// </summary>
internal static unsafe class TreeDeletion
{
    public static void Delete(string path)
    {
        var error = Libc.TryStat(path, Libc.AT_SYMLINK_NOFOLLOW, out var mode, out _);
        if (error == Errno.ENOENT)
            return;
        if (error != 0)
            throw new NativeCallException("statx", path, error);
        if ((mode & Libc.S_IFMT) != Libc.S_IFDIR)
        {
            Errno.Check(Libc.Unlink(path), "unlink", path);
            return;
        }
        DeleteContents(Errno.Check(Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0), "open", path), path);
        Errno.Check(Libc.Rmdir(path), "rmdir", path);
    }

    /// <summary>A directory being emptied: its name in its parent, its identity, and its subdirectories still to empty.</summary>
    private sealed record Level(byte[] Name, ulong Device, ulong Inode, Queue<byte[]> Subdirectories);

    /// <summary>Empties the directory open at <paramref name="top"/>, and closes it (or whichever directory the walk has open when it fails).</summary>
    private static void DeleteContents(int top, string topPath)
    {
        var fd = top;
        try
        {
            Walk(ref fd, topPath);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    private static void Walk(ref int fd, string topPath)
    {
        var (device, inode) = Identity(fd, () => topPath);
        var levels = new List<Level> { new([], device, inode, new Queue<byte[]>()) };
        string Where(byte[]? name = null) => Show(topPath, levels, name);
        DeleteFiles(fd, levels[^1], Where);
        while (true)
        {
            var level = levels[^1];
            if (level.Subdirectories.TryDequeue(out var name))
            {
                int child;
                fixed (byte* n = name)
                    child = Libc.OpenAt(fd, n, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
                if (child < 0)
                    throw Errno.Fail("open", Where(name));
                Libc.Close(fd);
                fd = child;
                var (childDevice, childInode) = Identity(fd, () => Where(name));
                if (childDevice != device)
                    throw new IOException($"{Where(name)} is a mount point; not deleting through it (unmount it, then reap the job again)");
                levels.Add(new Level(name, childDevice, childInode, new Queue<byte[]>()));
                DeleteFiles(fd, levels[^1], Where);
                continue;
            }
            if (levels.Count == 1)
                return;
            // Emptied: up to the parent, which must be the directory this one was opened from, and remove it there.
            var parent = levels[^2];
            int up;
            fixed (byte* dotdot = "..\0"u8)
                up = Libc.OpenAt(fd, dotdot, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
            if (up < 0)
                throw Errno.Fail("open", Where("..\0"u8.ToArray()));
            Libc.Close(fd);
            fd = up;
            if (Identity(fd, () => Where()) != (parent.Device, parent.Inode))
                throw new IOException($"the parent of {Where()} is no longer the directory it was opened from; not deleting further");
            levels.RemoveAt(levels.Count - 1);
            int removed;
            fixed (byte* n = level.Name)
                removed = Libc.UnlinkAt(fd, n, Libc.AT_REMOVEDIR);
            if (removed < 0)
                throw Errno.Fail("rmdir", Where(level.Name));
        }
    }

    /// <summary>Unlinks every entry of the directory open at <paramref name="fd"/> but its subdirectories, which it queues.</summary>
    private static void DeleteFiles(int fd, Level level, Func<byte[]?, string> where)
    {
        foreach (var name in Names(fd, () => where(null)))
        {
            fixed (byte* n = name)
            {
                StatxBuffer stat;
                if (Libc.StatxAt(fd, n, Libc.AT_SYMLINK_NOFOLLOW, StatxBuffer.STATX_TYPE, &stat) < 0)
                    throw Errno.Fail("statx", where(name));
                if ((stat.Mode & Libc.S_IFMT) == Libc.S_IFDIR)
                    level.Subdirectories.Enqueue(name);
                else if (Libc.UnlinkAt(fd, n, 0) < 0)
                    throw Errno.Fail("unlink", where(name));
            }
        }
    }

    private static (ulong Device, ulong Inode) Identity(int fd, Func<string> path)
    {
        StatxBuffer stat;
        int result;
        fixed (byte* empty = "\0"u8)
            result = Libc.StatxAt(fd, empty, Libc.AT_EMPTY_PATH, StatxBuffer.STATX_INO, &stat);
        if (result < 0)
            throw Errno.Fail("statx", path());
        return (((ulong)stat.DevMajor << 32) | stat.DevMinor, stat.Inode);
    }

    /// <summary>The raw, NUL-terminated names in a directory, read before anything is removed.</summary>
    private static List<byte[]> Names(int dirFd, Func<string> dirPath)
    {
        var copy = Libc.Dup(dirFd);
        if (copy < 0)
            throw Errno.Fail("dup", dirPath());
        var dir = Libc.Fdopendir(copy);
        if (dir == 0)
        {
            var failure = Errno.Fail("fdopendir", dirPath());
            Libc.Close(copy);
            throw failure;
        }
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
                var bytes = new byte[length + 1];
                name.CopyTo(bytes);
                names.Add(bytes);
            }
        }
        finally
        {
            Libc.Closedir(dir);
        }
        return names;
    }

    /// <summary>The path of the directory being emptied (and of <paramref name="name"/> in it), only for a message: a deep tree's is long.</summary>
    private static string Show(string topPath, List<Level> levels, byte[]? name)
    {
        var path = new StringBuilder(topPath);
        foreach (var part in levels.Skip(1).Select(level => level.Name).Append(name).OfType<byte[]>())
            path.Append('/').Append(Encoding.UTF8.GetString(part, 0, part.Length - 1));
        return path.ToString();
    }
}
