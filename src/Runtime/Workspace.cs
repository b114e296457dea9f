using System.Text;
using Lcluster.Runtime.Native;
using Microsoft.Win32.SafeHandles;

namespace Lcluster.Runtime;

/// <summary>What a name in a workspace is (never followed when it is a link).</summary>
public enum WorkspaceEntryKind { File, Directory, SymbolicLink, Other, BadName }

/// <summary>One name in a workspace directory: its kind, size and permission bits.</summary>
public sealed record WorkspaceEntry(string Name, WorkspaceEntryKind Kind, long Size, UnixFileMode Mode);

/// <summary>
/// A job's /work: a mount its caller holds by a file descriptor and that never appears in the host's
/// mount table — a bind of a directory on disk, or a tmpfs of a fixed size. The caller fills it before
/// the start (<see cref="SandboxSpec.Workspace"/>), the container's init moves it to /work (the job's
/// working directory), and the caller reads it after the end: the descriptor keeps it alive when the
/// container's mount namespace is gone. Every path is relative, resolved beneath the mount and never
/// through a symbolic link, whatever the job left there.
/// </summary>
public sealed class Workspace : IDisposable
{
    private const ulong Beneath = Libc.RESOLVE_BENEATH | Libc.RESOLVE_NO_SYMLINKS | Libc.RESOLVE_NO_MAGICLINKS | Libc.RESOLVE_NO_XDEV;
    private const uint StatxSize = 0x200;
    private const uint AllPermissions = 0x1FF;
    private readonly int _mount;
    private readonly string? _directory;
    private int _disposed;

    private Workspace(int mount, string? directory, long? capacityBytes)
    {
        _mount = mount;
        _directory = directory;
        CapacityBytes = capacityBytes;
    }

    /// <summary>The tmpfs size of an in-memory workspace; null for one on disk.</summary>
    public long? CapacityBytes { get; }

    /// <summary>The mount, for an init in a user namespace (which cannot open <see cref="InitSource"/>): it gets its own copy.</summary>
    internal int MountFd
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _mount;
        }
    }

    /// <summary>
    /// Everything in the workspace, its top included, made the container root's (for a container in a user namespace,
    /// whose root is an unprivileged host id): walked beneath the mount, never through a link.
    /// </summary>
    internal void GiveTo(Security.HostIdRange owner) => GiveTo("", owner.First);

    private void GiveTo(string path, uint id)
    {
        var fd = Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY);
        try
        {
            Errno.Check(Libc.Fchown(fd, id, id), "chown", "/work/" + path);
        }
        finally
        {
            Libc.Close(fd);
        }
        foreach (var entry in List(path))
        {
            var child = path.Length == 0 ? entry.Name : path + "/" + entry.Name;
            if (entry.Kind == WorkspaceEntryKind.Directory)
            {
                GiveTo(child, id);
                continue;
            }
            if (entry.Kind == WorkspaceEntryKind.BadName)
                continue; // not a name the daemon writes: nothing of the job's inputs
            var (parent, name) = Split(child);
            var parentFd = Open(parent, Libc.O_PATH | Libc.O_DIRECTORY);
            try
            {
                Errno.Check(Libc.Fchownat(parentFd, name, id, id, Libc.AT_SYMLINK_NOFOLLOW), "chown", "/work/" + child);
            }
            finally
            {
                Libc.Close(parentFd);
            }
        }
    }

    /// <summary>Where the container's init opens the mount: this process's descriptor of it.</summary>
    internal string InitSource => string.Concat("/proc/", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "/fd/", _mount.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>A new directory (it must not exist), bound nosuid and nodev; deleted on Dispose.</summary>
    public static Workspace OnDisk(string directory)
    {
        if (!Path.IsPathRooted(directory))
            throw new ArgumentException($"workspace directory {directory} is not an absolute path");
        if (Libc.Mkdir(directory, 0x1C0) == -1)
            throw Errno.Last == Errno.EEXIST
                ? new IOException($"workspace {directory} already exists: a leftover of an earlier run; delete it first (Workspace.DeleteLeftover)")
                : Errno.Fail("mkdir", directory);
        try
        {
            Errno.Check(Libc.Chmod(directory, Libc.Mode0755), "chmod", directory);
            var fd = Errno.Check(Libc.OpenTree(directory, Libc.OPEN_TREE_CLONE | Libc.OPEN_TREE_CLOEXEC), "open_tree", directory);
            var workspace = new Workspace(fd, directory, null);
            workspace.Harden();
            return workspace;
        }
        catch (IOException)
        {
            TreeDeletion.Delete(directory);
            throw;
        }
    }

    /// <summary>A tmpfs of <paramref name="capacityBytes"/>: writes past it fail with ENOSPC; its pages count in the writer's memory cgroup.</summary>
    public static Workspace InMemory(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBytes, 4096);
        var fs = Errno.Check(Libc.FsOpen("tmpfs", Libc.FSOPEN_CLOEXEC), "fsopen", "tmpfs");
        try
        {
            var size = capacityBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Errno.Check(Libc.FsConfig(fs, Libc.FSCONFIG_SET_STRING, "size", size, 0), "fsconfig size", size);
            Errno.Check(Libc.FsConfig(fs, Libc.FSCONFIG_SET_STRING, "mode", "0755", 0), "fsconfig mode", "0755");
            Errno.Check(Libc.FsConfig(fs, Libc.FSCONFIG_CMD_CREATE, null, null, 0), "fsconfig create", "tmpfs");
            var fd = Errno.Check(Libc.FsMount(fs, Libc.FSMOUNT_CLOEXEC, Libc.MOUNT_ATTR_NOSUID | Libc.MOUNT_ATTR_NODEV), "fsmount", "tmpfs");
            return new Workspace(fd, null, capacityBytes);
        }
        finally
        {
            Libc.Close(fs);
        }
    }

    /// <summary>Deletes what a crashed process left of an on-disk workspace (never following a link or crossing a mount).</summary>
    public static void DeleteLeftover(string directory) => TreeDeletion.Delete(directory);

    /// <summary>Makes a directory (and keeps one that is there), with exactly these permission bits.</summary>
    public void CreateDirectory(string path, UnixFileMode mode)
    {
        var (parent, name) = Split(path);
        var parentFd = Open(parent, Libc.O_PATH | Libc.O_DIRECTORY);
        try
        {
            if (Libc.MkdirAt(parentFd, name, 0x1C0) == -1 && Errno.Last != Errno.EEXIST)
                throw Errno.Fail("mkdir", path);
        }
        finally
        {
            Libc.Close(parentFd);
        }
        var fd = Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY);
        try
        {
            Errno.Check(Libc.Fchmod(fd, (uint)mode & AllPermissions), "chmod", path);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>A new regular file (it must not exist) with exactly these permission bits, open for writing.</summary>
    public FileStream CreateFile(string path, UnixFileMode mode)
    {
        var fd = Open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL, 0x180);
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            Errno.Check(Libc.Fchmod(fd, (uint)mode & AllPermissions), "chmod", path);
            return new FileStream(handle, FileAccess.Write, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>A regular file, open for reading; IOException when it is anything else or a link is on the way.</summary>
    public FileStream OpenFile(string path)
    {
        var fd = Open(path, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_NOFOLLOW);
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var kind = Stat(fd, "", Libc.AT_EMPTY_PATH, path).Kind;
            if (kind != WorkspaceEntryKind.File)
                throw new IOException($"{path} is not a regular file");
            return new FileStream(handle, FileAccess.Read, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The names in a directory ("" for the top), each as it is — a link is reported, never followed; at most
    /// <paramref name="limit"/> of them (in the directory's order), so that a directory of millions costs no more.
    /// </summary>
    public IReadOnlyList<WorkspaceEntry> List(string path, int limit = int.MaxValue)
    {
        var fd = Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY);
        try
        {
            var entries = new List<WorkspaceEntry>();
            foreach (var raw in Names(fd, path, limit))
            {
                string name;
                try
                {
                    name = Strict.GetString(raw);
                }
                catch (DecoderFallbackException)
                {
                    entries.Add(new WorkspaceEntry(Encoding.UTF8.GetString(raw), WorkspaceEntryKind.BadName, 0, 0));
                    continue;
                }
                entries.Add(Stat(fd, name, Libc.AT_SYMLINK_NOFOLLOW, path.Length == 0 ? name : path + "/" + name) with { Name = name });
            }
            return entries;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>Closes the mount (a tmpfs is gone with it) and deletes an on-disk workspace's directory.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Libc.Close(_mount);
        if (_directory is not null)
            TreeDeletion.Delete(_directory);
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private void Harden()
    {
        // Private too: a clone of a shared mount (/ under systemd) would stay a peer of the host's, so mounts made on
        // either side under it would appear on the other.
        var attributes = new MountAttributes { Set = Libc.MOUNT_ATTR_NOSUID | Libc.MOUNT_ATTR_NODEV, Propagation = Libc.MS_PRIVATE };
        unsafe
        {
            Errno.Check(Libc.MountSetattr(_mount, &attributes), "mount_setattr", _directory);
        }
    }

    private int Open(string path, int flags, uint mode = 0)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var fd = Libc.Openat2(_mount, path.Length == 0 ? "." : path, flags | Libc.O_CLOEXEC, mode, Beneath);
        if (fd != -1)
            return fd;
        var errno = Errno.Last;
        throw errno == Errno.ELOOP
            ? new IOException($"/work/{path}: a symbolic link is on the way, and links in /work are not followed")
            : new NativeCallException("open", "/work/" + path, errno);
    }

    private static unsafe WorkspaceEntry Stat(int dirFd, string name, int flags, string shown)
    {
        StatxBuffer buffer;
        Errno.Check(Libc.StatxName(dirFd, name, flags, StatxBuffer.STATX_TYPE | StatxBuffer.STATX_MODE | StatxSize, &buffer), "statx", "/work/" + shown);
        var kind = (buffer.Mode & Libc.S_IFMT) switch
        {
            Libc.S_IFREG => WorkspaceEntryKind.File,
            Libc.S_IFDIR => WorkspaceEntryKind.Directory,
            Libc.S_IFLNK => WorkspaceEntryKind.SymbolicLink,
            _ => WorkspaceEntryKind.Other,
        };
        return new WorkspaceEntry(name, kind, (long)buffer.Size, (UnixFileMode)(buffer.Mode & 0xFFF));
    }

    private static (string Parent, string Name) Split(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? ("", path) : (path[..slash], path[(slash + 1)..]);
    }

    /// <summary>The raw names of a directory, without "." and "..": the first <paramref name="limit"/> read, no more.</summary>
    private static unsafe List<byte[]> Names(int dirFd, string shown, int limit)
    {
        var dir = Libc.Fdopendir(Errno.Check(Libc.Dup(dirFd), "dup", "/work/" + shown));
        if (dir == 0)
            throw Errno.Fail("fdopendir", "/work/" + shown);
        var names = new List<byte[]>();
        try
        {
            DirectoryEntry* entry;
            while (names.Count < limit && (entry = Libc.Readdir(dir)) != null)
            {
                var span = new ReadOnlySpan<byte>(entry->Name, 256);
                var name = span[..span.IndexOf((byte)0)];
                if (!name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8))
                    names.Add(name.ToArray());
            }
        }
        finally
        {
            Libc.Closedir(dir);
        }
        return names;
    }
}
