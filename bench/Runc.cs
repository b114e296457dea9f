using System.Diagnostics;
using Lcluster.Runtime;

namespace Lcluster.Bench;

/// <summary>`runc run` of /bin/true in the bundle RuncBundle writes, timed from process start to exit.</summary>
internal sealed class Runc(string program, BenchContext context, Limits limits)
{
    private readonly string _state = Path.Combine(context.Scratch, "runc-state");
    private readonly string _cgroupParent = $"lcluster-bench/{context.Id}-runc";
    private int _runs;

    public async Task<double> OnceAsync(CancellationToken ct)
    {
        var n = _runs++;
        var bundle = RuncBundle.Write(Path.Combine(context.Scratch, "runc-bundle"), context.RootFs, "/bin/true", limits, $"/{_cgroupParent}/c{n}");
        var start = new ProcessStartInfo(program, ["--root", _state, "run", "--bundle", bundle, $"lcluster-bench-{context.Id}-{n}"])
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
            var dir = Path.Combine(hierarchy, _cgroupParent);
            if (Directory.Exists(dir))
                Directory.Delete(dir);
        }
    }
}
