using Lcluster.Runtime.Security;

namespace Lcluster.Runtime.Tests;

/// <summary>Jobs run under Docker's default seccomp profile: what it refuses fails with EPERM, what busybox needs works.</summary>
public sealed class SeccompTests(SandboxFixture fixture) : IClassFixture<SandboxFixture>
{
    [Fact]
    public async Task Job_runs_in_seccomp_filter_mode()
    {
        var run = await fixture.RunAsync("grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' /proc/self/status");
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        var status = run.Lines.Select(l => l.Split(':')).ToDictionary(f => f[0], f => f[1].Trim());
        Assert.True(status["Seccomp"] == "2", $"expected Seccomp: 2 (filter mode)\n{run.Evidence}");
        Assert.True(status["Seccomp_filters"] == "1", $"expected exactly one filter\n{run.Evidence}");
    }

    [Fact]
    public async Task Namespace_keyring_mount_tracing_and_kernel_syscalls_fail_with_eperm()
    {
        ProbeCall[] refused =
        [
            new("keyctl", Sys.Keyctl, Sys.KeyctlGetKeyringId, Sys.KeySpecSessionKeyring, 0),
            new("add_key", Sys.AddKey, "user", "lcluster-probe", "x", 1, Sys.KeySpecSessionKeyring),
            new("request_key", Sys.RequestKey, "user", "lcluster-probe", 0, 0),
            new("unshare_user", Sys.Unshare, Sys.CloneNewUser),
            new("unshare_mount", Sys.Unshare, Sys.CloneNewNs),
            new("clone_user", Sys.Clone, Sys.CloneNewUser | Sys.Sigchld, 0, 0, 0, 0),
            new("setns", Sys.Setns, -1, 0),
            new("mount", Sys.Mount, "none", "/mnt", "tmpfs", 0, 0),
            new("umount2", Sys.Umount2, "/proc", 0),
            new("pivot_root", Sys.PivotRoot, "/", "/"),
            new("perf_event_open", Sys.PerfEventOpen, 0, 0, -1, -1, 0),
            new("bpf", Sys.Bpf, 0, 0, 0),
            new("userfaultfd", Sys.Userfaultfd, 0),
            new("kexec_load", Sys.KexecLoad, 0, 0, 0, 0),
            new("init_module", Sys.InitModule, 0, 0, "x"),
            new("open_by_handle_at", Sys.OpenByHandleAt, -1, 0, 0),
            new("socket_vsock", Sys.Socket, Sys.AfVsock, Sys.SockStream, 0),
            new("socket_alg", Sys.Socket, Sys.AfAlg, Sys.SockSeqpacket, 0),
            new("personality_read_implies_exec", Sys.Personality, Sys.ReadImpliesExec),
        ];
        var results = await ProbeAsync(refused);
        var notRefused = refused.Where(c => results.GetValueOrDefault(c.Name, -1) != Sys.EPERM).Select(c => $"{c.Name}={results.GetValueOrDefault(c.Name, -1)}");
        Assert.True(!notRefused.Any(), $"not refused with EPERM: {string.Join(", ", notRefused)}");
    }

    [Fact]
    public async Task Clone3_fails_with_enosys_so_libcs_fall_back_to_clone_and_allowed_calls_pass()
    {
        var results = await ProbeAsync(
        [
            new("clone3", Sys.Clone3, 0, 0),
            new("getpid", Sys.Getpid),
            new("personality_query", Sys.Personality, Sys.PersonalityQuery),
            new("ptrace", Sys.Ptrace, Sys.PtraceGetregs, 1, 0, 0),
        ]);
        Assert.True(results.GetValueOrDefault("clone3", -1) == Sys.ENOSYS, $"clone3: {results.GetValueOrDefault("clone3", -1)}");
        Assert.True(results.GetValueOrDefault("getpid", -1) == 0, $"getpid: {results.GetValueOrDefault("getpid", -1)}");
        Assert.True(results.GetValueOrDefault("personality_query", -1) == 0, "personality(0xffffffff) is allowed by Docker");
        // Docker allows ptrace on kernels from 4.8 on: it reaches the kernel, which says the target is not our tracee.
        Assert.True(results.GetValueOrDefault("ptrace", -1) == Sys.ESRCH, $"ptrace: {results.GetValueOrDefault("ptrace", -1)}");
    }

    [Fact]
    public async Task A_32_bit_program_gets_no_socket_of_a_refused_family_and_socketcall_makes_no_socket()
    {
        ProbeCall[] calls =
        [
            new("socket_unix", I386.Socket, Sys.AfUnix, Sys.SockStream, 0),
            new("socket_vsock", I386.Socket, Sys.AfVsock, Sys.SockStream, 0),
            new("socket_alg", I386.Socket, Sys.AfAlg, Sys.SockSeqpacket, 0),
            // socketcall's arguments are behind a pointer the filter cannot read: these would make the sockets above.
            new("socketcall_vsock", I386.Socketcall, I386.SysSocket, ProbeArg.I386Longs(Sys.AfVsock, Sys.SockStream, 0)),
            new("socketcall_alg", I386.Socketcall, I386.SysSocket, ProbeArg.I386Longs(Sys.AfAlg, Sys.SockSeqpacket, 0)),
            new("socketcall_unix", I386.Socketcall, I386.SysSocket, ProbeArg.I386Longs(Sys.AfUnix, Sys.SockStream, 0)),
            new("socketcall_connect", I386.Socketcall, I386.SysConnect, ProbeArg.I386Longs(-1, 0, 0)),
        ];
        if (!SyscallProbe.KernelRunsI386())
        {
            // This kernel runs no 32-bit program (execve: ENOEXEC), so no job can use the i386 ABI. What can be shown
            // is that: the probe does not run in a job either, and so makes no socket, not even the AF_UNIX one.
            var refused = await fixture.RunAsync(SyscallProbe.Script(calls), stdin: SyscallProbe.BuildI386(calls));
            var made = SyscallProbe.Results(refused.Stdout);
            Assert.True(made.Count == calls.Length && made.Values.All(v => v != 0 && v != Sys.EPERM && v != Sys.ENOSYS), refused.Evidence);
            return;
        }
        var results = await ProbeAsync(calls, i386: true);
        var expected = new Dictionary<string, int>
        {
            ["socket_unix"] = 0,
            ["socket_vsock"] = Sys.EPERM,
            ["socket_alg"] = Sys.EPERM,
            ["socketcall_vsock"] = Sys.ENOSYS,
            ["socketcall_alg"] = Sys.ENOSYS,
            ["socketcall_unix"] = Sys.ENOSYS,
            ["socketcall_connect"] = Sys.EBADF, // the other socketcalls reach the kernel, which finds no socket -1
        };
        var wrong = expected.Where(e => results.GetValueOrDefault(e.Key, -1) != e.Value)
            .Select(e => $"{e.Key}={results.GetValueOrDefault(e.Key, -1)} (expected {e.Value})");
        Assert.True(!wrong.Any(), string.Join(", ", wrong));
    }

    [Fact]
    public async Task Busybox_unshare_is_refused_and_forking_pipelines_still_work()
    {
        var run = await fixture.RunAsync("unshare -U true 2>&1; echo unshare=$?; echo a b c | tr ' ' '\\n' | sort -r | head -1; ls / > /dev/null && echo ls-ok");
        Assert.Contains("Operation not permitted", run.Stdout);
        Assert.Contains("unshare=1", run.Lines);
        Assert.Contains("c", run.Lines);
        Assert.Contains("ls-ok", run.Lines);
    }

    [Fact]
    public void Profile_resolved_for_dockers_capabilities_allows_none_of_the_dangerous_syscalls()
    {
        var rules = SeccompFilter.ApplicableRules("amd64", new Version(6, 18)).ToArray();
        string[] dangerous =
        [
            "keyctl", "add_key", "request_key", "unshare", "setns", "mount", "umount2", "pivot_root", "perf_event_open",
            "bpf", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "open_by_handle_at",
            "userfaultfd", "clone3", "reboot", "swapon", "iopl", "ioperm", "syslog", "acct", "settimeofday",
        ];
        var allowed = dangerous.Where(n => rules.Any(r => r.Verdict == SeccompVerdict.Allow && r.Names.Contains(n))).ToArray();
        Assert.True(allowed.Length == 0, $"allowed: {string.Join(", ", allowed)}");
        var clone = rules.Where(r => r.Names.Contains("clone")).ToArray();
        Assert.True(clone is [{ Arguments: [{ Index: 0, Op: SeccompCompare.MaskedEqual, Value: 0x7E020000, ValueTwo: 0 }] }],
            "clone must be allowed only without namespace flags");
        Assert.Contains(rules, r => r.Verdict == SeccompVerdict.Allow && r.Names.Contains("ptrace"));
        Assert.Contains(rules, r => r.Verdict == SeccompVerdict.Allow && r.Names.Contains("chroot")); // CAP_SYS_CHROOT is in Docker's set
        Assert.DoesNotContain(rules, r => r.Verdict == SeccompVerdict.Allow && r.Names.Contains("ptrace") && r.Includes?.MinKernel is null
            && r.Includes?.Caps.Count > 0);
    }

    private async Task<IReadOnlyDictionary<string, int>> ProbeAsync(IReadOnlyList<ProbeCall> calls, bool i386 = false)
    {
        var run = await fixture.RunAsync(SyscallProbe.Script(calls), stdin: i386 ? SyscallProbe.BuildI386(calls) : SyscallProbe.Build(calls));
        Assert.True(run.Result.ExitCode == 0, run.Evidence);
        var results = SyscallProbe.Results(run.Stdout);
        Assert.True(calls.All(c => results.ContainsKey(c.Name)), run.Evidence);
        return results;
    }
}
