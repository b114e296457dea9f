using System.Diagnostics;
using Lcluster.TestSupport;

namespace Lcluster.Cli.Tests;

/// <summary>The daemon's own upkeep: retention, and the embedded etcd it supervises.</summary>
public sealed class HousekeepingTests
{
    [Fact]
    public async Task Finished_jobs_and_their_output_are_deleted_after_the_retention_period()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "retains", ExtraArgs = ["--retention=2s"] });
        var queued = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--addjob=sleep 3; echo old", "--wait");
        var id = queued.Stdout.Split('\n')[0];
        Assert.True(Directory.Exists(Path.Combine(daemon.DataDir, "output", id)), "no output was kept to begin with");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        CliResult check;
        do
        {
            await Task.Delay(250);
            check = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, $"--checkjob={id}");
        }
        while (check.ExitCode == 0 && DateTime.UtcNow < deadline);

        Assert.True(check.ExitCode == 3, $"the job outlived its retention: {check}");
        // The record goes first, then the node that ran the job deletes its output.
        var output = Path.Combine(daemon.DataDir, "output", id);
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Directory.Exists(output) && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.False(Directory.Exists(output), "its output outlived the job");
        Assert.Contains("retention: deleted 1 job(s)", daemon.LogText());
    }

    [Fact]
    public async Task A_data_dir_of_the_tls_era_keeps_its_jobs_and_loses_its_unused_certificates()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "upgrades" });
        var id = (await Lcluster.TestSupport.Cli.OkAsync(daemon.Server, null, "--addjob=echo kept", "--wait")).Split('\n')[0];
        Assert.Equal(0, await daemon.TerminateAsync(TimeSpan.FromSeconds(30)));
        // What an earlier version left: the embedded etcd's CA and certificates, for TLS on loopback.
        var tls = Directory.CreateDirectory(Path.Combine(daemon.DataDir, "etcd-tls")).FullName;
        foreach (var file in new[] { "ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key" })
            await File.WriteAllTextAsync(Path.Combine(tls, file), "-----BEGIN PRIVATE KEY-----\n");

        await daemon.RestartAsync();

        Assert.False(Directory.Exists(tls), "the old certificates are still there");
        Assert.Contains($"removed {tls}: the embedded etcd is reached over a Unix socket now", daemon.LogText());
        Assert.Contains("state:       succeeded", await Lcluster.TestSupport.Cli.OkAsync(daemon.Server, null, $"--checkjob={id}"));
        var socket = new FileInfo(daemon.EmbeddedEtcdSocket);
        Assert.True(socket.Exists, $"no socket at {socket.FullName}");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, socket.UnixFileMode); // etcd's umask is 077
    }

    [Fact]
    public async Task The_embedded_etcd_is_restarted_when_it_dies_and_stopped_with_the_daemon()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "supervises" });
        var first = int.Parse(await File.ReadAllTextAsync(Path.Combine(daemon.DataDir, "etcd.pid")));
        var before = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--addjob=echo before", "--wait");
        Assert.Equal(0, before.ExitCode);

        Process.GetProcessById(first).Kill();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        CliResult after;
        do
        {
            await Task.Delay(250);
            after = await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--addjob=echo after", "--wait");
        }
        while (after.ExitCode != 0 && DateTime.UtcNow < deadline);

        Assert.True(after.ExitCode == 0, $"no job ran after etcd was killed: {after}\n{daemon.LogTail()}");
        Assert.EndsWith("after\n", after.Stdout);
        var second = int.Parse(await File.ReadAllTextAsync(Path.Combine(daemon.DataDir, "etcd.pid")));
        Assert.NotEqual(first, second);
        Assert.Contains("embedded etcd exited", daemon.LogText());

        Assert.Equal(0, await daemon.TerminateAsync(TimeSpan.FromSeconds(20)));
        Assert.False(HostProcesses.StillRuns(second), "the embedded etcd outlived the daemon");
    }

    [Fact]
    public async Task A_daemon_killed_with_sigkill_takes_its_embedded_etcd_with_it_even_after_the_thread_that_started_it_could_have_ended()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "takes-etcd" });
        var etcd = int.Parse(await File.ReadAllTextAsync(Path.Combine(daemon.DataDir, "etcd.pid")));
        // The thread pool retires idle threads after some seconds: a death signal tied to one would fire by now.
        await Task.Delay(TimeSpan.FromSeconds(25));
        Assert.True(HostProcesses.StillRuns(etcd), "the embedded etcd died while its daemon ran");
        Assert.Equal(0, (await Lcluster.TestSupport.Cli.RunAsync(daemon.Server, "--listjobs")).ExitCode);

        await daemon.KillAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (HostProcesses.StillRuns(etcd) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.False(HostProcesses.StillRuns(etcd), "the embedded etcd outlived its daemon's SIGKILL");
    }
}
