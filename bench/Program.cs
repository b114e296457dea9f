namespace Lcluster.Bench;

/// <summary>
/// `make bench`: runs every benchmark and prints one table of figure / ours /
/// anchor / target. Add a benchmark as one more IBenchmark file and list it here.
/// </summary>
internal static class Program
{
    private static readonly IBenchmark[] Benchmarks = [new StartLatency(), new RuntimeMemory(), new CliCall(), new ClusterThroughput(), new Throughput(), new Failover()];

    /// <summary>Run only when asked for by name (--only): the Slurm anchor alone, which Throughput already measures.</summary>
    private static readonly IBenchmark[] OnRequest = [new SlurmBenchmark()];

    private static async Task<int> Main(string[] args)
    {
        BenchContext context;
        try
        {
            context = BenchContext.FromArguments(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            Console.Error.WriteLine("usage: Bench --repo DIR [--init PROGRAM] [--runs N] [--only NAME]");
            return 2;
        }
        var table = new FigureTable();
        foreach (var benchmark in context.Only is null ? Benchmarks : Benchmarks.Concat(OnRequest).Where(b => b.Name == context.Only))
        {
            Console.Error.WriteLine($"bench: {benchmark.Name} ...");
            try
            {
                table.AddRange(await benchmark.RunAsync(context, CancellationToken.None));
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or Runtime.SandboxException)
            {
                table.Add(new Figure(benchmark.Name, "failed", "", "", e.Message));
            }
        }
        table.Print(Console.Out);
        context.Dispose();
        RemoveEmptyCgroupRoot("lcluster-bench");
        return table.AnyFailed ? 1 : 0;
    }

    /// <summary>Each benchmark removes its own cgroups; the shared top directory goes when nothing is left in it.</summary>
    private static void RemoveEmptyCgroupRoot(string name)
    {
        foreach (var hierarchy in Directory.EnumerateDirectories("/sys/fs/cgroup").Append("/sys/fs/cgroup"))
        {
            var dir = Path.Combine(hierarchy, name);
            if (Directory.Exists(dir) && Directory.GetDirectories(dir).Length == 0)
                Directory.Delete(dir);
        }
    }
}
