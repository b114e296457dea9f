using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Mounts;

/// <summary>The job's /work: the workspace mount its daemon holds, moved into the new root by the init.</summary>
internal static class WorkMount
{
    public const string Path = "/work";

    /// <summary>
    /// Opens the daemon's descriptor of the mount through the host's /proc (still mounted here before
    /// pivot_root) and moves that mount onto ROOT/work; the daemon's descriptor keeps it after the job.
    /// </summary>
    public static void Attach(string root, string source)
    {
        var fd = Errno.Check(Libc.Open(source, Libc.O_PATH | Libc.O_CLOEXEC, 0), "open workspace", source);
        try
        {
            var target = root + Path;
            RootFilesystem.EnsureDirectory(target);
            Errno.Check(Libc.MoveMount(fd, target), "mount workspace", Path);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>After pivot_root: the job starts in /work.</summary>
    public static void Enter() => Errno.Check(Libc.Chdir(Path), "chdir", Path);
}
