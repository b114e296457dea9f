using System.Text;
using Lcluster.Runtime.Native;
using Lcluster.Runtime.Security;

namespace Lcluster.Runtime;

/// <summary>
/// &lt;WorkDirectory&gt;/&lt;job&gt;: the stdin file, and, for a layer on disk (a job without a disk limit), the
/// overlay's upper and work directories and its mount point. A job with a disk limit gets those on the tmpfs its init
/// mounts over its job directory in its own mount namespace; one with neither a layer on disk nor stdin has no
/// directory of its own: its init mounts over &lt;WorkDirectory&gt;/.layer, an empty directory every such init shares
/// (each mount is its own namespace's), so its start makes nothing on disk. Deleting a job's directory never follows
/// a symlink or crosses into another filesystem, whatever the job left in its layer.
/// </summary>
internal sealed class JobDirectory
{
    private JobDirectory(string path, string? stdinFile, bool layerOnDisk, bool shared = false)
    {
        Path = path;
        StdinFile = stdinFile;
        LayerOnDisk = layerOnDisk;
        _shared = shared;
    }

    private readonly bool _shared;

    /// <summary>The directory the inits of jobs with nothing of their own on disk mount over (not a job id: reaping skips it).</summary>
    public const string SharedName = ".layer";

    /// <summary>
    /// Makes &lt;WorkDirectory&gt;/.layer, empty, root's and 0711: an init in a user namespace, an unprivileged host
    /// id, may enter it through the fd the daemon sends, and nothing more.
    /// </summary>
    public static void CreateShared(string workDirectory)
    {
        var path = workDirectory + "/" + SharedName;
        if (Libc.Mkdir(path, 0x1C9 /* 0711 */) == -1 && Errno.Last != Errno.EEXIST)
            throw Errno.Fail("mkdir", path);
        Errno.Check(Libc.Chmod(path, 0x1C9), "chmod", path);
    }

    public const string UpperName = "upper", WorkName = "work", RootName = "root", LowerName = "lower", StdinName = "stdin";
    /// <summary>The layer's directories, and with the idmapped rootfs's mount point in a user namespace.</summary>
    public static readonly string[] LayerNames = [UpperName, WorkName, RootName], LayerNamesInUserNamespace = [UpperName, WorkName, RootName, LowerName];

    public string Path { get; }
    public string Upper => Path + "/" + UpperName;
    public string Work => Path + "/" + WorkName;
    public string Root => Path + "/" + RootName;
    /// <summary>Where an init in a user namespace attaches the idmapped rootfs (its overlay's lower layer).</summary>
    public string Lower => Path + "/" + LowerName;
    public string? StdinFile { get; }
    /// <summary>Whether the layer's directories are here on disk; else the init makes them on its tmpfs.</summary>
    public bool LayerOnDisk { get; }

    /// <summary>Creates the directories; an existing one is a leftover the caller must reap first.</summary>
    public static JobDirectory Create(string workDirectory, string jobId, ReadOnlyMemory<byte> stdin, bool layerOnDisk)
    {
        if (!layerOnDisk && stdin.IsEmpty)
            return new JobDirectory(workDirectory + "/" + SharedName, null, layerOnDisk: false, shared: true);
        var path = workDirectory + "/" + jobId;
        if (Libc.Mkdir(path, 0x1C0 /* 0700 */) == -1)
        {
            var errno = Errno.Last;
            throw errno == Errno.EEXIST
                ? new SandboxException($"job directory {path} already exists: a leftover of job {jobId}; reap it first (KillLeftoverAsync)")
                : new SandboxException($"cannot create job directory {path}: {new NativeCallException("mkdir", path, errno).Message}");
        }
        var directory = new JobDirectory(path, stdin.IsEmpty ? null : path + "/" + StdinName, layerOnDisk);
        try
        {
            foreach (var dir in layerOnDisk ? new[] { directory.Upper, directory.Work, directory.Root } : [])
                Errno.Check(Libc.Mkdir(dir, Libc.Mode0755), "mkdir", dir);
            if (directory.StdinFile is { } file)
                File.WriteAllBytes(file, stdin.ToArray());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TreeDeletion.Delete(path);
            throw new SandboxException($"cannot prepare job directory {path}: {e.Message}", e);
        }
        return directory;
    }

    /// <summary>
    /// For a container in a user namespace: the lower layer's mount point, and all of it owned by the container's
    /// root, which is unprivileged on the host: its init must get in (0700), overlayfs writes upper and work as it.
    /// </summary>
    public void GiveTo(HostIdRange owner)
    {
        if (_shared)
            return;
        if (LayerOnDisk)
            Errno.Check(Libc.Mkdir(Lower, Libc.Mode0755), "mkdir", Lower);
        string[] layer = LayerOnDisk ? [Upper, Work, Root, Lower] : [];
        string[] paths = StdinFile is { } stdin ? [Path, .. layer, stdin] : [Path, .. layer];
        foreach (var path in paths)
            Errno.Check(Libc.Lchown(path, owner.First, owner.First), "chown", path);
    }

    /// <summary>
    /// An O_PATH fd of this directory as the init's mount namespace sees it (through /proc/PID/root): an init in a
    /// user namespace enters it with fchdir and names everything in it relatively, so it needs no right on the
    /// directories above (the daemon's data dir stays 0700), and its mounts land on mounts of its own namespace.
    /// </summary>
    public int OpenAsSeenBy(int initPid)
    {
        var seen = string.Concat("/proc/", initPid.ToString(System.Globalization.CultureInfo.InvariantCulture), "/root", Path);
        return Errno.Check(Libc.Open(seen, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0), "open", seen);
    }

    public void Delete()
    {
        if (!_shared)
            TreeDeletion.Delete(Path);
    }
}
