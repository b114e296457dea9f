using System.Text;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime;

/// <summary>
/// &lt;WorkDirectory&gt;/&lt;job&gt;: the overlay's upper and work directories, its
/// mount point, and the stdin file. Deleting it never follows a symlink or
/// crosses into another filesystem, whatever the job left in its layer.
/// </summary>
internal sealed class JobDirectory
{
    private JobDirectory(string path, string? stdinFile)
    {
        Path = path;
        StdinFile = stdinFile;
    }

    public string Path { get; }
    public string Upper => Path + "/upper";
    public string Work => Path + "/work";
    public string Root => Path + "/root";
    public string? StdinFile { get; }

    /// <summary>Creates the directories; an existing one is a leftover the caller must reap first.</summary>
    public static JobDirectory Create(string workDirectory, string jobId, ReadOnlyMemory<byte> stdin)
    {
        var path = workDirectory + "/" + jobId;
        if (Libc.Mkdir(path, 0x1C0 /* 0700 */) == -1)
        {
            var errno = Errno.Last;
            throw errno == Errno.EEXIST
                ? new SandboxException($"job directory {path} already exists: a leftover of job {jobId}; reap it first (KillLeftoverAsync)")
                : new SandboxException($"cannot create job directory {path}: {new NativeCallException("mkdir", path, errno).Message}");
        }
        var directory = new JobDirectory(path, stdin.IsEmpty ? null : path + "/stdin");
        try
        {
            foreach (var dir in new[] { directory.Upper, directory.Work, directory.Root })
                Errno.Check(Libc.Mkdir(dir, 0x1ED), "mkdir", dir);
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

    public void Delete() => TreeDeletion.Delete(Path);
}
