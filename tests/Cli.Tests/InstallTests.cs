using System.Diagnostics;
using Lcluster.TestSupport;

namespace Lcluster.Cli.Tests;

/// <summary>`make install`: the programs, the rootfs, and a systemd unit that restarts a failed daemon.</summary>
public sealed class InstallTests
{
    [Fact]
    public async Task Make_install_puts_the_programs_the_rootfs_and_a_unit_that_restarts_the_daemon_on_failure()
    {
        var stage = Directory.CreateTempSubdirectory("lcluster-install-").FullName;
        try
        {
            // -o: the programs and the rootfs the other tests use are taken as built, never rebuilt under them.
            var make = await RunAsync("make", "-s", "-C", RepoPaths.Root, "-o", "build", "-o", "rootfs", "install", $"DESTDIR={stage}", "PREFIX=/opt/lc");
            Assert.True(make.ExitCode == 0, make.ToString());

            var unitPath = Path.Combine(stage, "etc/systemd/system/lclusterd.service");
            var unit = File.ReadAllLines(unitPath).Where(l => l.Contains('=') && !l.StartsWith('#')).ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]);
            Assert.Equal("on-failure", unit["Restart"]);
            Assert.Equal("process", unit["KillMode"]);
            Assert.Equal("/opt/lc/bin/lclusterd $LCLUSTERD_ARGS", unit["ExecStart"]);
            Assert.Equal("-/etc/default/lclusterd", unit["EnvironmentFile"]);
            var verify = await RunAsync(Requires.Program("systemd-analyze"), "verify", unitPath);
            Assert.DoesNotContain("Failed to parse", verify.Stderr + verify.Stdout);
            Assert.DoesNotContain("Unknown key", verify.Stderr + verify.Stdout);

            var defaults = File.ReadAllText(Path.Combine(stage, "etc/default/lclusterd"));
            Assert.Contains("LCLUSTERD_ARGS=\"--rootfs=/opt/lc/share/lcluster/rootfs\"", defaults);
            Assert.True(File.Exists(Path.Combine(stage, "opt/lc/share/lcluster/rootfs/bin/busybox")));
            var help = await RunAsync(Path.Combine(stage, "opt/lc/bin/lclusterd"), "--help");
            Assert.True(help.ExitCode == 0 && help.Stdout.StartsWith("usage: lclusterd", StringComparison.Ordinal), help.ToString());
            Assert.True((await RunAsync(Path.Combine(stage, "opt/lc/bin/lclusterc"), "--version")).ExitCode == 0);

            // An operator's flags survive a second install.
            await File.WriteAllTextAsync(Path.Combine(stage, "etc/default/lclusterd"), "LCLUSTERD_ARGS=\"--rootfs=/srv/mine\"\n");
            Assert.Equal(0, (await RunAsync("make", "-s", "-C", RepoPaths.Root, "-o", "build", "-o", "rootfs", "install", $"DESTDIR={stage}", "PREFIX=/opt/lc")).ExitCode);
            Assert.Contains("/srv/mine", File.ReadAllText(Path.Combine(stage, "etc/default/lclusterd")));
        }
        finally
        {
            Directory.Delete(stage, recursive: true);
        }
    }

    private static async Task<CliResult> RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
