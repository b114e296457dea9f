namespace Lcluster.Bench;

/// <summary>What every benchmark needs: the repository's rootfs, an init program, a scratch directory.</summary>
internal sealed class BenchContext : IDisposable
{
    private BenchContext(string repo, string init, int runs, string? only)
    {
        Repo = repo;
        InitProgram = init;
        Runs = runs;
        Only = only;
        Scratch = Directory.CreateTempSubdirectory("lcluster-bench-").FullName;
    }

    public string Repo { get; }
    public string RootFs => Path.Combine(Repo, "rootfs");
    public string InitProgram { get; }
    public int Runs { get; }
    public string? Only { get; }
    public string Scratch { get; }
    public string Id { get; } = Guid.NewGuid().ToString("N")[..8];

    public static BenchContext FromArguments(string[] args)
    {
        string? repo = null, init = null, only = null;
        var runs = 50;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--repo": repo = Path.GetFullPath(value); break;
                case "--init": init = Path.GetFullPath(value); break;
                case "--runs": runs = int.TryParse(value, out var n) && n > 0 ? n : throw new ArgumentException($"--runs {value} is not a positive number"); break;
                case "--only": only = value; break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
            i++;
        }
        if (repo is null || !File.Exists(Path.Combine(repo, "lcluster.sln")))
            throw new ArgumentException("--repo must name the repository root (where lcluster.sln is)");
        if (!File.Exists(Path.Combine(repo, "rootfs", "bin", "busybox")))
            throw new ArgumentException($"{repo}/rootfs has no bin/busybox: run `make rootfs`");
        init ??= Path.Combine(repo, "bin", "inithost", "Lcluster.InitHost");
        if (!File.Exists(init))
            throw new ArgumentException($"init program {init} does not exist (`make bench` publishes it)");
        if (!Environment.IsPrivilegedProcess)
            throw new ArgumentException("the benchmarks build real containers and must run as root");
        return new BenchContext(repo, init, runs, only);
    }

    public void Dispose() => Directory.Delete(Scratch, recursive: true);

    /// <summary>A program on PATH (or in the system directories), or null when it is not installed.</summary>
    public static string? FindProgram(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
