using Lcluster.Runtime.Host;

namespace Lcluster.Daemon.Hosting;

/// <summary>The checks and choices made once, before the daemon joins the cluster.</summary>
internal static class Startup
{
    /// <summary>A usable root filesystem: a directory with an executable /bin/sh.</summary>
    public static void CheckRootFs(string rootfs)
    {
        if (!Directory.Exists(rootfs))
            throw new DaemonStartException($"--rootfs {rootfs} is not a directory (build one with `make rootfs`)");
        var sh = Path.Combine(rootfs, "bin", "sh");
        var target = File.Exists(sh) || new FileInfo(sh).LinkTarget is not null ? sh : null;
        if (target is null)
            throw new DaemonStartException($"--rootfs {rootfs} is not a root filesystem: it has no /bin/sh (build one with `make rootfs`)");
        foreach (var dir in new[] { "proc", "dev", "sys", "tmp" })
        {
            if (!Directory.Exists(Path.Combine(rootfs, dir)))
                throw new DaemonStartException($"--rootfs {rootfs} is not a root filesystem: it has no /{dir} to mount on");
        }
    }

    /// <summary>
    /// Creates the data dir and holds its lock: two daemons never share one. It must be a directory of root's, not a
    /// symlink: its permissions are what keep other users from the embedded etcd's socket and the jobs' files.
    /// </summary>
    public static IDisposable LockDataDir(string dataDir)
    {
        try
        {
            Directory.CreateDirectory(dataDir);
            var (owner, isDirectory) = HostAccounts.OwnerOf(dataDir);
            if (!isDirectory || owner != 0)
                throw new DaemonStartException($"--data-dir {dataDir} must be a directory owned by root, not a symlink " +
                    $"({(isDirectory ? $"its owner is uid {owner}" : "it is not a directory")}): only root may reach the node's state and etcd");
            File.SetUnixFileMode(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return new FileStream(Path.Combine(dataDir, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new DaemonStartException($"--data-dir {dataDir} is in use by another lclusterd, or unusable: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DaemonStartException($"--data-dir {dataDir} is unusable: {e.Message}");
        }
    }

    /// <summary>--node-name, else the name this data dir was first started with, else the host name (plus -NAMESPACE).</summary>
    public static string NodeName(DaemonOptions options)
    {
        var file = Path.Combine(options.DataDir, "node-name");
        var kept = File.Exists(file) ? File.ReadAllText(file).Trim() : null;
        var name = options.NodeName
                   ?? kept
                   ?? (options.NetworkNamespace is { } ns ? $"{Environment.MachineName}-{ns}" : Environment.MachineName);
        if (kept != name)
            File.WriteAllText(file, name + "\n");
        return name;
    }
}
