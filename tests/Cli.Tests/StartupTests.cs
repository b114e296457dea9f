using System.Diagnostics;
using Lcluster.TestSupport;

namespace Lcluster.Cli.Tests;

/// <summary>lclusterd refuses to start, with one clear line, when it cannot do its job.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task Not_root_is_refused_with_the_reason()
    {
        var (code, stderr) = await RunAsync(["--reuid=65534", "--regid=65534", "--clear-groups", RepoPaths.Bin("lclusterd"), $"--rootfs={RepoPaths.RootFs}"], "/usr/bin/setpriv");

        Assert.Equal(1, code);
        Assert.Equal("lclusterd: must run as root: it builds containers (namespaces, mounts, cgroups); try sudo\n", stderr);
    }

    [Fact]
    public async Task A_missing_or_unusable_rootfs_is_refused_with_the_reason()
    {
        var empty = Directory.CreateTempSubdirectory("lcluster-emptyfs-").FullName;
        try
        {
            var missing = await RunAsync(["--rootfs=/nonexistent/rootfs", "--data-dir=" + empty]);
            var hollow = await RunAsync([$"--rootfs={empty}", "--data-dir=" + Path.Combine(empty, "data")]);
            var none = await RunAsync([]);

            Assert.Equal((1, "lclusterd: --rootfs /nonexistent/rootfs is not a directory (build one with `make rootfs`)\n"), missing);
            Assert.Equal(1, hollow.Code);
            Assert.Contains("is not a root filesystem: it has no /bin/sh", hollow.Stderr);
            Assert.Equal(2, none.Code);
            Assert.StartsWith("lclusterd: --rootfs is required", none.Stderr);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task An_unreachable_etcd_is_refused_within_a_bounded_time()
    {
        var data = Directory.CreateTempSubdirectory("lcluster-noetcd-").FullName;
        try
        {
            var watch = Stopwatch.StartNew();
            var (code, stderr) = await RunAsync([$"--rootfs={RepoPaths.RootFs}", $"--data-dir={data}", "--etcd=http://127.0.0.1:1", "--listen=127.0.0.1:1"]);

            Assert.Equal(1, code);
            Assert.Contains("lclusterd: cannot reach etcd at http://127.0.0.1:1 after 15s", stderr);
            Assert.InRange(watch.Elapsed.TotalSeconds, 10, 40);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Unknown_and_bad_flags_are_usage_errors()
    {
        Assert.Equal(2, (await RunAsync(["--bogus"])).Code);
        Assert.Contains("--slots", (await RunAsync([$"--rootfs={RepoPaths.RootFs}", "--slots=lots"])).Stderr);
        Assert.Contains("--listen", (await RunAsync([$"--rootfs={RepoPaths.RootFs}", "--listen=nowhere"])).Stderr);
    }

    [Fact]
    public async Task The_hidden_init_mode_run_by_hand_is_refused_and_changes_no_mount()
    {
        var before = await File.ReadAllTextAsync("/proc/self/mountinfo");

        var (code, stderr) = await RunAsync(["__lcluster-init"]);

        Assert.Equal((2, "lclusterd: __lcluster-init is internal: it runs only as PID 1 of a container the daemon builds\n"), (code, stderr));
        Assert.Equal(before, await File.ReadAllTextAsync("/proc/self/mountinfo"));
    }

    private static async Task<(int Code, string Stderr)> RunAsync(string[] args, string? program = null)
    {
        Requires.Root();
        var info = new ProcessStartInfo(program ?? RepoPaths.Bin("lclusterd")) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stderr);
    }
}
