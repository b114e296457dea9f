using Lcluster.TestSupport;
using Lcluster.TestSupport.Chaos;

namespace Lcluster.Cli.Tests;

/// <summary>DATA_DIR/containers.log: the node's own append-only record of every container it started and ended.</summary>
public sealed class ContainerLogTests
{
    [Fact]
    public async Task Each_container_start_and_end_is_appended_root_only_and_a_restart_records_its_leftovers()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "records" });
        var path = Path.Combine(daemon.DataDir, ContainerLogFile.FileName);
        var ok = (await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--addjob=true", "--wait")).Stdout.Split('\n')[0];
        var failed = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--addjob=exit 3", "--wait");
        Assert.Equal(3, failed.ExitCode);
        var failedId = failed.Stdout.Split('\n')[0];

        // Root's only, and opened for appending (O_APPEND, 02000 in fdinfo's octal flags).
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var fd = Directory.GetFiles($"/proc/{daemon.Pid}/fd").Single(f => new FileInfo(f).LinkTarget == path);
        var flags = File.ReadLines($"/proc/{daemon.Pid}/fdinfo/{Path.GetFileName(fd)}").Single(l => l.StartsWith("flags:", StringComparison.Ordinal));
        Assert.True((Convert.ToInt32(flags.Split(':')[1].Trim(), 8) & 0x400) != 0, $"containers.log is not opened O_APPEND: {flags}");

        var events = ContainerLogFile.Read(path);
        Assert.Equal("daemon-start", events[0].Kind);
        Assert.Equal(daemon.Pid, events[0].Pid);
        foreach (var (id, exit) in new[] { (ok, 0), (failedId, 3) })
        {
            var start = Assert.Single(events, e => e.Job == id && e.Kind == "start");
            var end = Assert.Single(events, e => e.Job == id && e.Kind == "end");
            Assert.Equal(daemon.NodeName, start.Node);
            Assert.Equal(1, start.Attempt);
            Assert.Equal(start.Pid, end.Pid);
            Assert.Equal(start.Incarnation, end.Incarnation);
            Assert.NotEqual(daemon.Pid, start.Pid);
            Assert.Equal(exit, end.ExitCode);
            Assert.True(start.Wall <= end.Wall && start.Mono <= end.Mono, $"end before start: {start} {end}");
        }

        // A daemon killed under a running job: the restarted one appends (never truncates) its start and the leftover.
        var sleeper = (await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--addjob=sleep 60")).Stdout.Trim();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!ContainerLogFile.Read(path).Any(e => e.Job == sleeper && e.Kind == "start"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no start line for {sleeper}\n{daemon.LogTail()}");
            await Task.Delay(100);
        }
        var before = File.ReadAllText(path);
        await daemon.KillAsync();
        await daemon.RestartAsync();
        var after = File.ReadAllText(path);
        Assert.StartsWith(before, after);
        var appended = ContainerLogFile.Parse(after[before.Length..].Split('\n'));
        // The guard saw its daemon die and may first say the sleeper's container was over (it died with the daemon).
        var guard = appended.TakeWhile(e => e.Kind is "guard-over" or "guard-kill").ToList();
        Assert.All(guard, e => Assert.Equal(sleeper, e.Job));
        appended = [.. appended.Skip(guard.Count)];
        Assert.Equal("daemon-start", appended[0].Kind);
        Assert.Equal(daemon.Pid, appended[0].Pid);
        Assert.Contains(appended, e => e.Kind == "leftover" && e.Job == sleeper);
        Assert.DoesNotContain(appended, e => e.Kind == "end" && e.Job == sleeper);
    }
}
