using System.Runtime.InteropServices;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// The program every container starts as its init: lclusterd-init (src/lclusterd-init), carried inside this binary
/// as a resource by `make build`, and written out at start to DATA_DIR/lclusterd-init. The data dir is root's and
/// 0700, so only root can change the file; a container's root, an unprivileged host id, executes it through a file
/// descriptor the daemon opened, for which the file's own mode (0755) is enough.
/// </summary>
internal static partial class InitProgram
{
    public const string Name = "lclusterd-init";

    /// <summary>
    /// Writes the carried init to the data dir, replacing whatever was there whole (a rename), and returns its path.
    /// A build that carries none (`dotnet run`, not `make build`), or a data dir on a filesystem mounted noexec, starts
    /// its containers with this program's own binary instead (the same init mode, a slower start).
    /// </summary>
    public static string Install(string dataDir, Log log)
    {
        var self = Environment.ProcessPath ?? throw new DaemonStartException("cannot tell the path of this program (needed to start containers)");
        using var image = typeof(InitProgram).Assembly.GetManifestResourceStream(Name);
        if (image is null)
            return self;
        var path = Path.Combine(dataDir, Name);
        var written = path + ".new";
        try
        {
            File.Delete(written);
            using (var file = new FileStream(written, FileMode.CreateNew, FileAccess.Write))
                image.CopyTo(file);
            File.SetUnixFileMode(written, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                          | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.Move(written, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DaemonStartException($"cannot write the container init to {path}: {e.Message}");
        }
        finally
        {
            LetGo(image);
        }
        // access(2) answers EACCES for X_OK on a noexec mount, as execve would.
        if (Access(path, ExecuteOk) != 0)
        {
            log.Warn($"cannot execute {path} (is {dataDir} on a filesystem mounted noexec?): containers start with {self} as their init, a slower start");
            return self;
        }
        return path;
    }

    /// <summary>
    /// The image lies in this binary's read-only data, mapped from its file: once copied, its pages are dropped from
    /// the daemon's memory (they stay in the page cache) rather than counted in its resident set for good.
    /// </summary>
    private static unsafe void LetGo(Stream image)
    {
        // Only NativeAOT's resources are pages of the file (a JIT build's may be anonymous memory, which this would zero).
        if (image is not UnmanagedMemoryStream mapped || System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
            return;
        var page = (nuint)Environment.SystemPageSize;
        var start = ((nuint)mapped.PositionPointer - (nuint)mapped.Position + page - 1) & ~(page - 1);
        var end = ((nuint)mapped.PositionPointer - (nuint)mapped.Position + (nuint)mapped.Length) & ~(page - 1);
        if (end > start)
            _ = Madvise(start, end - start, MadvDontNeed); // only memory: nothing to report if the kernel keeps them
    }

    private const int MadvDontNeed = 4, ExecuteOk = 1;

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Access(string path, int mode);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nuint address, nuint length, int advice);
}
