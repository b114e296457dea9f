using Lcluster.Runtime;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// The program every container starts as its init: lclusterd-init (src/lclusterd-init), carried inside this binary
/// as a resource by `make build`, and written out at start to DATA_DIR/lclusterd-init. The data dir is root's and
/// 0700, so only root can change the file; a container's root, an unprivileged host id, executes it through a file
/// descriptor the daemon opened, for which the file's own mode (0755) is enough.
/// </summary>
internal static class InitProgram
{
    public const string Name = "lclusterd-init";

    /// <summary>
    /// Writes the carried init to the data dir and returns its path. A build that carries none (`dotnet run`, not
    /// `make build`), or a data dir on a filesystem mounted noexec, starts its containers with this program's own
    /// binary instead (the same init mode, a slower start).
    /// </summary>
    public static string Install(string dataDir, Log log)
    {
        var self = Environment.ProcessPath ?? throw new DaemonStartException("cannot tell the path of this program (needed to start containers)");
        using var image = typeof(InitProgram).Assembly.GetManifestResourceStream(Name);
        if (image is null)
            return self;
        var path = Path.Combine(dataDir, Name);
        bool executable;
        try
        {
            executable = InitProgramFile.Write(image, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DaemonStartException($"cannot write the container init to {path}: {e.Message}");
        }
        if (executable)
            return path;
        log.Warn($"cannot execute {path} (is {dataDir} on a filesystem mounted noexec?): containers start with {self} as their init, a slower start");
        return self;
    }
}
