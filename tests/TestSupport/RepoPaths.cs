namespace Lcluster.TestSupport;

/// <summary>Where the repository's built programs and root filesystem are.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Bin(string program) => Path.Combine(Root, "bin", program);

    /// <summary>The busybox root filesystem `make rootfs` builds.</summary>
    public static string RootFs
    {
        get
        {
            var dir = Path.Combine(Root, "rootfs");
            if (!File.Exists(Path.Combine(dir, "bin", "busybox")))
                throw new InvalidOperationException($"{dir} has no bin/busybox: run `make rootfs` first");
            return dir;
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "lcluster.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no lcluster.sln above {AppContext.BaseDirectory}");
    }
}
