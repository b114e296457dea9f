using System.Diagnostics;

namespace Lcluster.Runtime.Tests;

/// <summary>The disk limit caps what a job writes: the kernel says ENOSPC and the node's disk never sees the bytes.</summary>
public sealed class DiskLimitTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    private const long Cap = 64 << 20;
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_job_writing_3_gb_to_its_root_gets_enospc_at_its_cap_ends_normally_and_the_data_dir_does_not_grow()
    {
        var before = await AllocatedBytesAsync(fixture.JobsDirectory);
        // The job keeps /big while the test measures the data dir, then ends by itself.
        var spec = fixture.Spec(
            "dd if=/dev/zero of=/big bs=1M count=3000 2>&1; echo dd=$?; echo size=$(stat -c %s /big); " +
            $"echo held; sleep {Hold.TotalSeconds:0}; echo tmp; dd if=/dev/zero of=/tmp/big bs=1M count=3000 2>&1; echo tmpdd=$?",
            new Limits { DiskBytes = Cap, WallTime = TimeSpan.FromSeconds(120) });
        var container = await fixture.Sandbox.StartAsync(spec, CancellationToken.None);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.ReadAllText(spec.StdoutPath).Contains("held\n") && DateTime.UtcNow < deadline && !container.Completion.IsCompleted)
            await Task.Delay(10);
        var during = await AllocatedBytesAsync(fixture.JobsDirectory);
        // The layer and its directories are on the init's tmpfs, mounted over the directory such jobs share: on disk
        // the job has no directory, and the shared one stays empty.
        var onDisk = Directory.EnumerateFileSystemEntries(fixture.JobsDirectory).Select(Path.GetFileName)
            .Concat(Directory.EnumerateFileSystemEntries(Path.Combine(fixture.JobsDirectory, ".layer")).Select(p => ".layer/" + Path.GetFileName(p)))
            .Where(name => name != ".layer").ToArray();
        var measuredWhileHeld = !container.Completion.IsCompleted;
        var result = await container.Completion.WaitAsync(TimeSpan.FromSeconds(120));
        var run = new JobRun(spec, container, result, File.ReadAllText(spec.StdoutPath), File.ReadAllText(spec.StderrPath));

        Assert.True(result.ExitCode == 0 && result.InfrastructureFailure is null && !result.OomKilled, run.Evidence);
        Assert.Contains("No space left on device", run.Stdout);
        Assert.Contains("dd=1", run.Lines);
        var size = long.Parse(run.Lines.Single(l => l.StartsWith("size=", StringComparison.Ordinal))[5..]);
        Assert.True(size is > Cap / 2 and <= Cap, $"/big is {size} bytes; the cap is {Cap}\n{run.Evidence}");
        Assert.True(measuredWhileHeld, $"the job ended before the data dir was measured\n{run.Evidence}");
        Assert.True(during - before <= Cap, $"the data dir grew by {during - before} bytes while the job held /big (cap {Cap})\n{run.Evidence}");
        Assert.Contains("tmpdd=1", run.Lines); // /tmp is capped too
        Assert.True(onDisk.Length == 0, $"the jobs' directory on disk holds {string.Join(", ", onDisk)}\n{run.Evidence}");
    }

    [Fact]
    public async Task Without_a_disk_limit_the_writable_layer_is_on_the_data_dir_as_before()
    {
        var spec = fixture.Spec("dd if=/dev/zero of=/big bs=1M count=80 2>&1; echo dd=$?; echo held; sleep 5");
        var container = await fixture.Sandbox.StartAsync(spec, CancellationToken.None);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!File.ReadAllText(spec.StdoutPath).Contains("held\n") && DateTime.UtcNow < deadline)
            await Task.Delay(10);
        var upper = Path.Combine(fixture.JobsDirectory, spec.JobId, "upper", "big");
        var onDisk = File.Exists(upper) ? new FileInfo(upper).Length : -1;
        await container.KillAsync();
        Assert.True(onDisk == 80 << 20, $"expected the 80 MiB file in the job's upper dir on the data dir, found {onDisk}: {File.ReadAllText(spec.StdoutPath)}");
    }

    /// <summary>Bytes allocated on disk below a directory (du: blocks, not sizes), as the host sees it.</summary>
    private static async Task<long> AllocatedBytesAsync(string directory)
    {
        using var du = Process.Start(new ProcessStartInfo("du", ["-s", "-B1", "-x", directory]) { RedirectStandardOutput = true })!;
        var output = await du.StandardOutput.ReadToEndAsync();
        await du.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return long.Parse(output.Split('\t')[0]);
    }
}
