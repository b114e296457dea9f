using System.Runtime.InteropServices;
using Lcluster.TestSupport;

namespace Lcluster.Runtime.Tests;

/// <summary>What a job can see of the host: nothing but its rootfs, its processes and loopback.</summary>
public sealed class IsolationTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Job_runs_as_pid_1_and_ps_shows_only_its_own_processes()
    {
        // Wait until both children have exec'd sleep; "; true" keeps busybox sh from exec'ing ps in place of itself.
        var run = await fixture.RunAsync(
            "sleep 30 & sleep 30 & until [ \"$(ps -o comm | grep -c '^sleep')\" = 2 ]; do :; done; echo self=$$; ps -o pid,comm; true",
            new Limits { WallTime = TimeSpan.FromSeconds(60) });
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.Contains("self=1", run.Lines);
        var processes = run.Lines.SkipWhile(l => !l.TrimStart().StartsWith("PID", StringComparison.Ordinal)).Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(f => (Pid: int.Parse(f[0]), Comm: f[1])).ToArray();
        Assert.True(processes.Length == 4, $"expected sh, 2 sleeps and ps, saw {processes.Length}\n{run.Evidence}");
        Assert.Equal(["ps", "sh", "sleep", "sleep"], processes.Select(p => p.Comm).Order().ToArray());
        Assert.Contains(processes, p => p.Pid == 1 && p.Comm == "sh");
        Assert.True(processes.All(p => p.Pid < 1000), run.Evidence);
    }

    [Fact]
    public async Task Container_has_its_own_hostname_and_the_hosts_is_unchanged()
    {
        var hostBefore = File.ReadAllText("/proc/sys/kernel/hostname");
        var spec = fixture.Spec("hostname; cat /proc/sys/kernel/hostname");
        var run = await fixture.RunAsync(spec);
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.Equal([spec.Hostname, spec.Hostname], run.Lines);
        Assert.Equal(hostBefore, File.ReadAllText("/proc/sys/kernel/hostname"));
    }

    [Fact]
    public async Task Root_is_the_rootfs_and_a_host_only_path_is_absent()
    {
        var hostOnly = AppContext.BaseDirectory.TrimEnd('/');
        Assert.True(Directory.Exists(hostOnly));
        var run = await fixture.RunAsync($"test -e {hostOnly} && echo host-path-present || echo host-path-absent; cat /etc/passwd; ls -a /");
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.Equal("host-path-absent", run.Lines[0]);
        Assert.Contains(File.ReadAllText(Path.Combine(RepoPaths.RootFs, "etc/passwd")), run.Stdout);
        var expectedRoot = Directory.EnumerateFileSystemEntries(RepoPaths.RootFs).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        var seenRoot = run.Lines.SkipWhile(l => l != "..").Skip(1).Order(StringComparer.Ordinal);
        Assert.Equal(expectedRoot, seenRoot);
    }

    [Fact]
    public async Task Writes_never_reach_the_host_rootfs_and_the_next_job_does_not_see_them()
    {
        var first = await fixture.RunAsync(
            "echo a > /bin/lcluster-written && echo b > /root/lcluster-written && echo c > /tmp/lcluster-written " +
            "&& mkdir /lcluster-newdir && rm /bin/ls && echo wrote");
        Assert.True(first.Result.ExitCode == 0 && first.Stdout == "wrote\n", first.Evidence);
        var rootfs = RepoPaths.RootFs;
        Assert.False(File.Exists(Path.Combine(rootfs, "bin/lcluster-written")), "a job's write reached the host rootfs /bin");
        Assert.False(File.Exists(Path.Combine(rootfs, "root/lcluster-written")), "a job's write reached the host rootfs /root");
        Assert.False(Directory.Exists(Path.Combine(rootfs, "lcluster-newdir")), "a job's mkdir reached the host rootfs");
        Assert.Contains(Path.Combine(rootfs, "bin/ls"), Directory.EnumerateFileSystemEntries(Path.Combine(rootfs, "bin")));

        var second = await fixture.RunAsync(
            "for f in /bin/lcluster-written /root/lcluster-written /tmp/lcluster-written /lcluster-newdir /bin/ls; " +
            "do [ -e $f ] && echo \"$f present\" || echo \"$f absent\"; done");
        Assert.True(second.Result.ExitCode == 0, second.Evidence);
        Assert.Equal(
            ["/bin/lcluster-written absent", "/root/lcluster-written absent", "/tmp/lcluster-written absent",
             "/lcluster-newdir absent", "/bin/ls present"], second.Lines);
    }

    [Fact]
    public async Task Only_loopback_is_there_and_it_is_up()
    {
        var run = await fixture.RunAsync("cat /proc/net/dev; echo flags=$(cat /sys/class/net/lo/flags); ls /sys/class/net");
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        var interfaces = run.Lines.Where(l => l.Contains(':') && !l.Contains('|')).Select(l => l.Split(':')[0].Trim()).ToArray();
        Assert.True(interfaces is ["lo"], run.Evidence);
        var flags = Convert.ToInt32(run.Lines.Single(l => l.StartsWith("flags=", StringComparison.Ordinal))[6..], 16);
        Assert.True((flags & 1) == 1, $"lo is not up (flags 0x{flags:x})\n{run.Evidence}");
        Assert.Equal("lo", run.Lines[^1]);
    }

    [Fact]
    public async Task Capabilities_are_dockers_default_set_and_no_new_privs_is_on()
    {
        var run = await fixture.RunAsync("grep -E '^(Cap|NoNewPrivs)' /proc/1/status");
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        var status = run.Lines.Select(l => l.Split(':')).ToDictionary(f => f[0], f => f[1].Trim());
        Assert.True(status["CapBnd"] == "00000000a80425fb", run.Evidence);
        Assert.True(status["CapEff"] == "00000000a80425fb", run.Evidence);
        Assert.True(status["CapPrm"] == "00000000a80425fb", run.Evidence);
        Assert.True(status["CapInh"] == "0000000000000000", run.Evidence);
        Assert.True(status["CapAmb"] == "0000000000000000", run.Evidence);
        Assert.True(status["NoNewPrivs"] == "1", run.Evidence);
    }

    [Fact]
    public async Task Masked_paths_read_empty_and_read_only_paths_refuse_writes()
    {
        // The host has content behind these, so an empty read inside proves the mask.
        // Docker's list (moby's daemon/pkg/oci defaults), written here, not taken from the code it checks.
        var maskedFiles = new[] { "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/latency_stats", "/proc/interrupts" }
            .Where(File.Exists).ToArray();
        var maskedDirectories = new[] { "/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap" }
            .Concat(Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*").Select(cpu => cpu + "/thermal_throttle"))
            .Where(Directory.Exists).ToArray();
        Assert.True(maskedFiles.Length > 0 && maskedDirectories.Length > 0, "this host has none of the masked paths: the test proves nothing");
        Assert.True(maskedDirectories.Any(d => Directory.EnumerateFileSystemEntries(d).Any()), "every masked directory is empty on the host too");
        var script = string.Join("; ", maskedFiles.Select(f => $"echo {f}=$(head -c 64 {f} | wc -c)"))
            + "; " + string.Join("; ", maskedDirectories.Select(d => $"echo {d}=$(ls -A {d} | wc -l)"))
            + "; echo x > /proc/sys/kernel/hostname 2>&1; echo 1 > /proc/sys/vm/drop_caches 2>&1"
            + "; grep -E ' /proc/(bus|fs|irq|sys|sysrq-trigger) ' /proc/self/mountinfo | cut -d' ' -f5,6";
        var run = await fixture.RunAsync(script);
        foreach (var path in maskedFiles.Concat(maskedDirectories))
            Assert.True(run.Lines.Contains($"{path}=0"), $"{path} is not empty inside\n{run.Evidence}");
        Assert.True((run.Stdout + run.Stderr).Split("Read-only file system").Length - 1 == 2, run.Evidence);
        var readOnly = run.Lines.Where(l => l.StartsWith("/proc/", StringComparison.Ordinal) && l.Contains(' ')).ToArray();
        var expected = new[] { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" }.Where(Path.Exists);
        Assert.True(readOnly.Select(l => l.Split(' ')[0]).Order().SequenceEqual(expected), run.Evidence);
        Assert.True(readOnly.All(l => l.Split(' ')[1].Split(',').Contains("ro")), run.Evidence);
    }

    [Fact]
    public async Task A_job_holds_at_most_its_share_of_the_hosts_pseudo_terminals()
    {
        // Each background sleep holds one pty open; past the job's share the kernel refuses the rest (ENOSPC), so
        // the host's pool (shared by every container) is never the job's to exhaust.
        var run = await fixture.RunAsync(
            "for i in $(seq 100); do sleep 60 </dev/ptmx 2>/dev/null & done; " +
            "n=-1; while c=$(ls /dev/pts | grep -c '^[0-9]'); [ $c != $n ]; do n=$c; sleep 0.5; done; echo held=$n");

        Assert.True(run.Stdout == $"held={Lcluster.Runtime.Mounts.SpecialFilesystems.MaxPtys}\n", run.Evidence);
    }

    [Fact]
    public async Task A_job_draws_on_a_share_of_the_kernels_per_user_counts_of_its_own_not_on_roots()
    {
        // inotify instances are counted per user up the user namespaces, each level charged to the owner of the one
        // below (128 a user by default): a job whose namespace root owned could take the host root's every instance.
        // This program makes more than that limit allows, as many as it may, and holds them.
        var limit = int.Parse(File.ReadAllText("/proc/sys/fs/inotify/max_user_instances").Trim());
        var tries = BitConverter.GetBytes(limit + 10);
        byte[] code =
        [
            0xBB, tries[0], tries[1], tries[2], tries[3], // mov ebx, limit + 10
            0xB8, 0x26, 0x01, 0, 0, // loop: mov eax, 294 (inotify_init1)
            0x31, 0xFF, 0x0F, 0x05, // xor edi, edi; syscall
            0xFF, 0xCB, 0x75, 0xF3, // dec ebx; jnz loop
            0xB8, 34, 0, 0, 0, 0x0F, 0x05, // mov eax, 34 (pause); syscall
            0x31, 0xFF, 0xB8, 60, 0, 0, 0, 0x0F, 0x05, // exit(0)
        ];
        using var workspace = Workspace.InMemory(1 << 20);
        await using (var file = workspace.CreateFile("hold", (UnixFileMode)0x1ED))
            await file.WriteAsync(SyscallProbe.Program(code));
        var spec = fixture.Spec("exec ./hold") with { Workspace = workspace };
        var container = await fixture.Sandbox.StartAsync(spec, CancellationToken.None);
        try
        {
            int Held() => Directory.GetFiles($"/proc/{container.Pid}/fd")
                .Count(fd => (File.ResolveLinkTarget(fd, returnFinalTarget: false)?.FullName ?? "").Contains("inotify", StringComparison.Ordinal));
            var held = 0;
            for (var deadline = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < deadline; await Task.Delay(200))
            {
                var now = Held();
                if (now == held && now > 0)
                    break;
                held = now;
            }

            var host = InotifyInit1(0);
            var error = Marshal.GetLastPInvokeError();
            if (host >= 0)
                Native.Libc.Close(host);
            Assert.True(host >= 0, $"root on the host could make no inotify instance (errno {error}) while the job held {held}");
            Assert.True(held == limit, $"the job made {held} inotify instances, not its own share of {limit}");
        }
        finally
        {
            Native.Libc.Kill(container.Pid, 9);
            await container.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    [DllImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    private static extern int InotifyInit1(int flags);

    [Fact]
    public async Task Job_gets_no_file_descriptor_of_the_daemon()
    {
        var run = await fixture.RunAsync("ls /proc/1/fd; for fd in 0 1 2; do readlink /proc/1/fd/$fd; done; true");
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.Equal(["0", "1", "2"], run.Lines.Take(3));
        Assert.Equal("/dev/null", run.Lines[3]);
        Assert.StartsWith("pipe:", run.Lines[4]);
        Assert.StartsWith("pipe:", run.Lines[5]);
        Assert.Equal(6, run.Lines.Length);
    }

    [Fact]
    public async Task Dev_has_only_the_standard_nodes_and_job_made_device_nodes_cannot_be_opened()
    {
        // In a user namespace mknod itself is refused; without one the node is made but cannot be opened (nodev).
        var run = await fixture.RunAsync(
            "ls /dev | tr '\\n' ' '; echo; " +
            "for d in /root /tmp /dev/shm; do if mknod $d/mem c 1 1 2>/dev/null; " +
            "then (head -c 1 $d/mem > /dev/null 2>&1 && echo \"$d opened\" || echo \"$d refused\"); else echo \"$d refused\"; fi; done; " +
            "mknod /dev/mem2 c 1 1 2>&1; echo data > /dev/null && echo null-ok");
        Assert.Equal("fd full null ptmx pts random shm stderr stdin stdout tty urandom zero", run.Lines[0].Trim());
        Assert.True(run.Lines.Contains("/root refused") && run.Lines.Contains("/tmp refused") && run.Lines.Contains("/dev/shm refused"), run.Evidence);
        Assert.Contains("Read-only file system", run.Stdout);
        Assert.Contains("null-ok", run.Lines);
    }

    [Fact]
    public async Task Environment_has_the_defaults_the_job_id_and_the_specs_entries()
    {
        var spec = fixture.Spec("env | sort") with
        {
            Environment = new Dictionary<string, string> { ["GREETING"] = "hello world", ["HOME"] = "/tmp" },
        };
        var run = await fixture.RunAsync(spec);
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        Assert.Contains("GREETING=hello world", run.Lines);
        Assert.Contains("HOME=/tmp", run.Lines);
        Assert.Contains($"LCLUSTER_JOB_ID={spec.JobId}", run.Lines);
        Assert.Contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", run.Lines);
        Assert.DoesNotContain(run.Lines, l => l.StartsWith("DOTNET_", StringComparison.Ordinal));
    }
}
