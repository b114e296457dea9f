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
            Assert.Contains("is not a root filesystem: it has no /bin/sh", hollow.Output);
            Assert.Equal(2, none.Code);
            Assert.StartsWith("lclusterd: --rootfs is required", none.Output);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task A_data_dir_not_roots_own_directory_or_too_long_for_the_etcd_socket_is_refused()
    {
        var scratch = Directory.CreateTempSubdirectory("lcluster-datadir-").FullName;
        try
        {
            var nobodys = Directory.CreateDirectory(Path.Combine(scratch, "nobodys")).FullName;
            HostChown(nobodys, 65534);
            var real = Directory.CreateDirectory(Path.Combine(scratch, "real")).FullName;
            var link = Path.Combine(scratch, "link");
            File.CreateSymbolicLink(link, real);
            var deep = Path.Combine(scratch, new string('d', 100));

            var owned = await RunAsync([$"--rootfs={RepoPaths.RootFs}", $"--data-dir={nobodys}"]);
            var linked = await RunAsync([$"--rootfs={RepoPaths.RootFs}", $"--data-dir={link}"]);
            var tooLong = await RunAsync([$"--rootfs={RepoPaths.RootFs}", $"--data-dir={deep}"]);

            Assert.Equal((1, $"lclusterd: --data-dir {nobodys} must be a directory owned by root, not a symlink (its owner is uid 65534): " +
                "only root may reach the node's state and etcd\n"), owned);
            Assert.Equal(1, linked.Code);
            Assert.Contains($"--data-dir {link} must be a directory owned by root, not a symlink (it is not a directory)", linked.Output);
            Assert.Equal(1, tooLong.Code);
            Assert.Contains($"--data-dir {deep} is too long for the embedded etcd's socket", tooLong.Output);
            // Refused before anything was written into them.
            Assert.Empty(Directory.GetFileSystemEntries(nobodys));
            Assert.Empty(Directory.GetFileSystemEntries(real));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static void HostChown(string path, int uid)
    {
        using var chown = Process.Start("/bin/chown", [uid.ToString(System.Globalization.CultureInfo.InvariantCulture), path]);
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
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
        Assert.Contains("--slots", (await RunAsync([$"--rootfs={RepoPaths.RootFs}", "--slots=lots"])).Output);
        Assert.Contains("--listen", (await RunAsync([$"--rootfs={RepoPaths.RootFs}", "--listen=nowhere"])).Output);
    }

    [Fact]
    public async Task The_hidden_init_mode_run_by_hand_is_refused_and_leaves_mount_propagation_as_it_was()
    {
        // In a mount namespace of the test's own, where every mount is shared (as systemd leaves a host) and no other
        // process mounts anything: the init's first step, were it taken, would make them private. Its control and
        // report pipes are /dev/null, so an init that did not refuse would end instead of waiting for a job.
        var script = $"exec 2>&1; mount --make-rshared / && cat /proc/self/mountinfo && echo '{Separator}' "
                     + $"&& {{ {RepoPaths.Bin("lclusterd")} __lcluster-init 3</dev/null 4>/dev/null 2>&1; echo \"exit $?\"; }} "
                     + $"&& echo '{Separator}' && cat /proc/self/mountinfo";
        var (code, output) = await RunAsync(["--mount", "--propagation", "private", "/bin/sh", "-c", script], "/usr/bin/unshare", readStdout: true);

        var parts = output.Split(Separator + "\n");
        Assert.True(code == 0 && parts.Length == 3, $"unshare exited {code}: {output}");
        var before = Propagation(parts[0]);
        Assert.True(before.Values.All(p => p.Contains("shared:", StringComparison.Ordinal)), $"the test could not make every mount shared:\n{parts[0]}");
        Assert.Equal(before, Propagation(parts[2]));
        Assert.Equal("lclusterd: __lcluster-init is internal: it runs only as PID 1 of a container the daemon builds\nexit 2\n", parts[1]);
    }

    private const string Separator = "----8<----";

    /// <summary>Each mount's id and its propagation (the optional fields of /proc/self/mountinfo: shared:N, master:N).</summary>
    private static Dictionary<string, string> Propagation(string mountinfo) =>
        mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(
            line => line.Split(' ')[0],
            line => string.Join(' ', line[..line.IndexOf(" - ", StringComparison.Ordinal)].Split(' ').Skip(6)));

    /// <summary>Runs a program to its end (a minute at most): its exit code and stderr (or stdout, when <paramref name="readStdout"/>).</summary>
    private static async Task<(int Code, string Output)> RunAsync(string[] args, string? program = null, bool readStdout = false)
    {
        Requires.Root();
        var info = new ProcessStartInfo(program ?? RepoPaths.Bin("lclusterd")) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{info.FileName} {string.Join(' ', args)} did not end within a minute");
        }
        return (process.ExitCode, readStdout ? await stdout : await stderr);
    }
}
