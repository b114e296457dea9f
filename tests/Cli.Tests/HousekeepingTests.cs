using System.Diagnostics;
using Lcluster.TestSupport;
using Lcluster.TestSupport.Chaos;

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
    public async Task The_containers_init_is_the_small_program_the_daemon_carries_written_anew_at_each_start()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "carries-init" });
        var init = Path.Combine(daemon.DataDir, "lclusterd-init");
        var written = await File.ReadAllBytesAsync(init);
        Assert.Equal("lclusterd-init", await PooledInitProgramAsync(daemon, init));
        Assert.Equal(0x7F, written[0]); // ELF
        var daemonBytes = new FileInfo(RepoPaths.Bin("lclusterd")).Length;
        Assert.True(written.Length < daemonBytes / 4, $"the init is {written.Length} bytes, the daemon {daemonBytes}: not a program of its own");
        Assert.Equal(0, await daemon.TerminateAsync(TimeSpan.FromSeconds(30)));

        // Whatever is found there at the next start is replaced whole, and the jobs run.
        await File.WriteAllTextAsync(init, "#!/bin/sh\necho planted\n");
        File.SetUnixFileMode(init, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherWrite);
        await daemon.RestartAsync();

        Assert.Equal(written, await File.ReadAllBytesAsync(init));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
                     | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, File.GetUnixFileMode(init));
        Assert.Equal("ran\n", (await Lcluster.TestSupport.Cli.OkAsync(daemon.Server, null, "--addjob=echo ran", "--wait")).Split('\n', 2)[1]);
    }

    [Fact]
    public async Task On_a_data_dir_mounted_noexec_containers_start_with_the_daemons_own_binary_and_the_log_says_so()
    {
        var dataDir = Directory.CreateTempSubdirectory("lct-noexec-").FullName;
        // Room for the embedded etcd, which preallocates its write-ahead log in files of 64 MB, the next one before it
        // is needed: with 64m it ran out of space now and then, and exited or never answered.
        await MountAsync("mount", "-t", "tmpfs", "-o", "noexec,size=256m,mode=0700", "lcluster-test", dataDir);
        try
        {
            await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "noexec", DataDir = dataDir });
            Assert.Equal("lclusterd", await PooledInitProgramAsync(daemon, RepoPaths.Bin("lclusterd")));
            Assert.Contains($"cannot execute {dataDir}/lclusterd-init (is {dataDir} on a filesystem mounted noexec?)", daemon.LogText());
            Assert.Equal("ran\n", (await Lcluster.TestSupport.Cli.OkAsync(daemon.Server, null, "--addjob=echo ran", "--wait")).Split('\n', 2)[1]);
        }
        finally
        {
            await MountAsync("umount", "-l", dataDir);
            Directory.Delete(dataDir);
            File.Delete(dataDir + ".log"); // the daemon's log, beside a data dir the test owns
        }

        static async Task MountAsync(string program, params string[] args)
        {
            using var process = Process.Start(program, args);
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} failed with {process.ExitCode}");
        }
    }

    /// <summary>
    /// The program of the daemon's pooled inits (its children waiting for jobs as PID 1 of their namespaces), as the
    /// host sees it: each executes <paramref name="expected"/>; returns the name the init gave itself.
    /// </summary>
    private static async Task<string> PooledInitProgramAsync(DaemonProcess daemon, string expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var inits = Directory.EnumerateDirectories("/proc")
                .Where(d => TryRead(Path.Combine(d, "stat")) is { } stat && stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1] == daemon.Pid.ToString())
                .Where(d => TryRead(Path.Combine(d, "cmdline"))?.Split('\0') is [_, "__lcluster-init", ..])
                .ToArray();
            if (inits.Length > 0)
            {
                foreach (var dir in inits)
                    Assert.Equal(expected, new FileInfo(Path.Combine(dir, "exe")).LinkTarget);
                return (TryRead(Path.Combine(inits[0], "comm")) ?? "").Trim();
            }
            Assert.True(DateTime.UtcNow < deadline, $"no pooled init of the daemon (pid {daemon.Pid}) found in /proc");
            await Task.Delay(100);
        }

        static string? TryRead(string path)
        {
            try
            {
                return File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null; // a process that ended meanwhile
            }
        }
    }

    [Fact]
    public async Task The_embedded_etcd_is_restarted_when_it_dies_and_stopped_with_the_daemon()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "supervises" });
        var first = int.Parse(await File.ReadAllTextAsync(Path.Combine(daemon.DataDir, "etcd.pid")));
        var commandLine = File.ReadAllText($"/proc/{first}/cmdline").Split('\0');
        Assert.All(EtcdServer.CostFlags, flag => Assert.Contains(flag, commandLine));
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

    [Fact]
    public async Task A_daemon_killed_with_sigkill_takes_with_it_a_job_whose_pid_1_changed_its_user_ids()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "takes-jobs" });
        // The kernel clears a process's death signal when it changes its user ids: PID 1 becomes `sleep` as nobody and
        // no longer dies with its daemon by itself. Checked: without the guard it outlives the daemon.
        var seconds = Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var id = (await Lcluster.TestSupport.Cli.OkAsync(daemon.Server, null, $"--addjob=exec su -s /bin/sh nobody -c 'exec sleep {seconds}'")).Trim();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        IReadOnlyList<int> job;
        while ((job = HostProcesses.WithArgument($"sleep\0{seconds}")).Count == 0 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        var pid = Assert.Single(job);
        var uid = long.Parse(File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t')[1],
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(65534, uid % 65536); // nobody: its block's id in a user namespace (blocks of 65536, aligned), 65534 without

        await daemon.KillAsync();
        Assert.False(HostProcesses.StillRuns(pid), $"the job's PID 1 ({pid}) outlived its daemon's SIGKILL\n{daemon.LogTail()}");
        const string Guarded = "lclusterd guard: the daemon is gone; killed the processes of 1 container(s) below lcluster/takes-jobs";
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!daemon.LogText().Contains(Guarded, StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.Contains(Guarded, daemon.LogText());
        // And it says so in the node's container log, where a checker of what ran where looks for each container's end.
        var killed = Assert.Single(ContainerLogFile.Read(Path.Combine(daemon.DataDir, ContainerLogFile.FileName)), e => e.Kind == "guard-kill");
        Assert.Equal((id, daemon.NodeName), (killed.Job, killed.Node));
    }

    [Fact]
    public async Task A_container_that_ends_while_its_daemon_is_stopped_is_recorded_over_by_the_guard_at_the_deadline()
    {
        await using var daemon = await DaemonProcess.StartAsync(new DaemonSettings { NodeName = "stopped-over", ExtraArgs = ["--lease-ttl=2s", "--fence-timeout=4s"] });
        var seconds = "1." + Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var id = (await Lcluster.TestSupport.Cli.OkAsync(daemon.Server, null, $"--addjob=sleep {seconds}")).Trim();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (HostProcesses.WithArgument($"sleep\0{seconds}").Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"job {id} did not start within 20 s\n{daemon.LogTail()}");
            await Task.Delay(20);
        }

        // Stopped, the daemon can neither reap the container when its command ends nor write its end line.
        await daemon.PauseAsync();
        var stoppedAt = DateTimeOffset.UtcNow;
        var log = Path.Combine(daemon.DataDir, ContainerLogFile.FileName);
        ContainerEvent? over = null;
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while ((over = ContainerLogFile.Read(log).FirstOrDefault(e => e.Kind == "guard-over" && e.Job == id)) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no guard-over line for job {id} 15 s into the pause\n{File.ReadAllText(log)}\n{daemon.LogTail()}");
            await Task.Delay(100);
        }
        Assert.DoesNotContain(ContainerLogFile.Read(log), e => e.Kind is "end" or "guard-kill" && e.Job == id);
        // At the deadline (the fence timeout after the last renewal, and a margin), not before.
        Assert.True(over.Wall - stoppedAt > TimeSpan.FromSeconds(3), $"the guard wrote its line {(over.Wall - stoppedAt).TotalSeconds:F1} s into the pause");

        // Woken, the daemon reaps the container and writes its end line, after the guard's.
        await daemon.ResumeAsync();
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        ContainerEvent? end;
        while ((end = ContainerLogFile.Read(log).FirstOrDefault(e => e.Kind == "end" && e.Job == id)) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no end line for job {id} 20 s after SIGCONT\n{daemon.LogTail()}");
            await Task.Delay(100);
        }
        Assert.Equal(0, end.ExitCode);
        Assert.True(end.Wall > over.Wall);
    }
}
