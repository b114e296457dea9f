using System.Diagnostics;
using Lcluster.Runtime;

namespace Lcluster.Bench;

/// <summary>`runc run` of /bin/true in the bundle RuncBundle writes, timed from process start to exit.</summary>
internal sealed class Runc(string program, BenchContext context, Limits limits)
{
    private readonly string state = Path.Combine(context.Scratch, "runc-state");
    private readonly string cgroupParent = $"lcluster-bench/{context.Id}-runc";
    private int runs;

    public async Task<double> OnceAsync(CancellationToken ct)
    {
        var n = runs++;
        var bundle = RuncBundle.Write(Path.Combine(context.Scratch, "runc-bundle"), context.RootFs, "/bin/true", limits, $"/{cgroupParent}/c{n}");
        var start = new ProcessStartInfo(program, ["--root", state, "run", "--bundle", bundle, $"lcluster-bench-{context.Id}-{n}"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        watch.Stop();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"runc run exited {process.ExitCode}: {await stderr}");
        return watch.Elapsed.TotalMilliseconds;
    }

    /// <summary>runc removes each container's cgroups; this rmdirs the empty parent it made them under.</summary>
    public void RemoveCgroupParent()
    {
        foreach (var hierarchy in Directory.EnumerateDirectories("/sys/fs/cgroup").Append("/sys/fs/cgroup"))
        {
            var dir = Path.Combine(hierarchy, cgroupParent);
            if (Directory.Exists(dir))
                Directory.Delete(dir);
        }
    }
}
