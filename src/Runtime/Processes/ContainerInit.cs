using System.Text;
using Lcluster.Runtime.Mounts;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// The hidden init mode: lclusterd-init (or the daemon's own binary) started as PID 1 of a fresh
/// set of namespaces. It says it is ready, waits for its job on the control
/// pipe (the daemon has put it into the job's cgroups by then), builds the
/// container and execs <c>/bin/sh -c CMD</c>. It touches nothing heavy: its
/// start-up is the container's start-up.
/// </summary>
public static unsafe class ContainerInit
{
    /// <summary>The first argument that selects init mode.</summary>
    public const string Verb = "__lcluster-init";

    internal const int ControlFd = 3, ReportFd = 4;
    /// <summary>Exit code of an init whose setup failed (the reason went over the report pipe).</summary>
    internal const int SetupFailedExitCode = 121;
    /// <summary>Init argument of test sandboxes only: the job runs without the seccomp filter (to look at what it hides).</summary>
    internal const string WithoutSeccompArgument = "--test-without-seccomp";
    /// <summary>Init argument: it was started as root of its own user namespace, and its rootfs comes as an idmapped mount fd.</summary>
    internal const string UserNamespaceArgument = "--user-namespace";

    /// <summary>Call first thing in Main when <c>args[0] == Verb</c>; returns only when the pool closed.</summary>
    public static int Run(string[] args)
    {
        // Only ever PID 1 of namespaces the daemon made: run by hand, its first step would make the host's mounts private.
        if (Environment.ProcessId != 1)
        {
            Console.Error.WriteLine($"{Path.GetFileName(Environment.ProcessPath)}: {Verb} is internal: it runs only as PID 1 of a container the daemon builds");
            return 2;
        }
        Security.SeccompFilter? seccomp;
        var inUserNamespace = Array.IndexOf(args, UserNamespaceArgument) >= 0;
        try
        {
            // Dies with the daemon: our parent is its spawner thread, which lives as long as the daemon does. A daemon
            // that died before this line (while the runtime started) sent no job and never will: its end of the control
            // socket is closed, so end now rather than after the whole warm-up.
            Errno.Check(Libc.Prctl(Libc.PR_SET_PDEATHSIG, Libc.SIGKILL, 0, 0, 0), "prctl", "PR_SET_PDEATHSIG");
            if (Libc.PeerClosed(ControlFd))
                return 1;
            if (inUserNamespace)
            {
                RequireNamespaceRoot();
                NameAfterProgram();
            }
            Processes.InitWarmup.Run();
            seccomp = Array.IndexOf(args, WithoutSeccompArgument) >= 0 ? null : ReceiveSeccomp();
        }
        catch (Exception e)
        {
            TryReport(Encoding.UTF8.GetBytes("F" + e.Message));
            return SetupFailedExitCode;
        }
        if (!TryReport([Processes.InitReport.Ready]))
            return 1; // the daemon is gone
        try
        {
            // In a user namespace the daemon first sends the job's idmapped rootfs mount, its job directory, and its
            // workspace mount when it has one.
            Span<int> fds = stackalloc int[3];
            var count = inUserNamespace ? Processes.FdPassing.Receive(ControlFd, fds, least: 2) : -1;
            if (count == 0)
                return 0; // the pool was closed before a job came
            var message = Receive();
            if (message is null)
                return 0;
            if (count == 3)
                message = message with { WorkspaceSource = string.Concat("/proc/self/fd/", fds[2].ToString(System.Globalization.CultureInfo.InvariantCulture)) };
            Build(message, seccomp, inUserNamespace ? new JobFds(fds[0], fds[1]) : null);
        }
        catch (Exception e)
        {
            // Not hidden: every failure is the job's start-failure reason, sent to the daemon.
            TryReport(Encoding.UTF8.GetBytes("F" + e.Message));
        }
        Libc.Exit(SetupFailedExitCode);
        return SetupFailedExitCode;
    }

    /// <summary>What an init in a user namespace gets before its message: the idmapped rootfs, and its job directory to enter.</summary>
    private readonly record struct JobFds(int RootFsMount, int JobDirectory);

    private static void Build(Processes.InitMessage m, Security.SeccompFilter? seccomp, JobFds? fds)
    {
        // After the daemon moved us into the job's cgroups, so the job sees its own cgroup as "/".
        Errno.Check(Libc.Unshare(Libc.CLONE_NEWCGROUP), "unshare", "cgroup namespace");
        var inUserNamespace = fds is not null;
        // The job directory is the working directory from here on; the layer's directories are named in it. In a user
        // namespace it comes as an fd: the directories above it are not ours to enter.
        if (fds is { } received)
        {
            Errno.Check(Libc.Fchdir(received.JobDirectory), "enter the job directory", "fd " + received.JobDirectory.ToString());
            Libc.Close(received.JobDirectory);
        }
        else
        {
            Errno.Check(Libc.Chdir(m.JobDir), "enter the job directory", m.JobDir);
        }
        if (m.StdinPath is { } stdin)
            AttachStdin(stdin); // a file of the job directory: open it before a capped layer covers that
        if (m.DiskBytes is { } cap)
            RootFilesystem.CoverWithCappedLayer(cap, inUserNamespace);
        if (fds is { } idmapped)
            IdmappedRootFs.Attach(idmapped.RootFsMount, m.LowerDir);
        RootFilesystem.MountOverlay(m.LowerDir, JobDirectory.UpperName, JobDirectory.WorkName, JobDirectory.RootName, inUserNamespace);
        var root = JobDirectory.RootName;
        SpecialFilesystems.MountProc(root);
        SpecialFilesystems.MountDev(root, inUserNamespace);
        SpecialFilesystems.MountSys(root);
        SpecialFilesystems.MountTmp(root, m.DiskBytes);
        ProcMasks.Mask(root);
        ProcMasks.MakeReadOnly(root);
        SpecialFilesystems.SealDev(root);
        if (m.WorkspaceSource is { } workspace)
            WorkMount.Attach(root, workspace);
        // Everything that could load an assembly happens before pivot_root: the runtime's files are gone after it.
        var exec = new PreparedExec(m.Command, m.Environment);
        var hostname = Encoding.ASCII.GetBytes(m.Hostname);
        RootFilesystem.Pivot(root);
        if (m.WorkspaceSource is not null)
            WorkMount.Enter();
        if (m.StdinPath is null)
            AttachStdin("/dev/null"); // the container's own, not the host's the init was spawned with
        SetHostname(hostname);
        Security.Keyring.JoinNewSession();
        RequireShell();
        Libc.Umask(0x12 /* 022 */);
        Processes.Capabilities.ReduceToDockerDefault();
        Processes.ExecPreparation.SetNoNewPrivileges();
        Processes.ExecPreparation.ResetSignals();
        Processes.ExecPreparation.CloseFdsOnExec();
        seccomp?.Load(); // last: from here on only what Docker's profile allows, and the report and execve are
        TryReport([Processes.InitReport.Exec]);
        exec.Run();
    }

    /// <summary>execve's arguments in unmanaged memory, built while the runtime can still load what it needs.</summary>
    private readonly struct PreparedExec(string command, IReadOnlyList<string> environment)
    {
        private readonly nint _shell = (nint)Processes.ExecPreparation.NativeString("/bin/sh");
        private readonly nint _argv = (nint)Processes.ExecPreparation.NativeArray(["/bin/sh", "-c", command]);
        private readonly nint _envp = (nint)Processes.ExecPreparation.NativeArray(environment);

        public void Run()
        {
            Libc.Execve((byte*)_shell, (byte**)_argv, (byte**)_envp);
            throw Errno.Fail("execve", "/bin/sh");
        }
    }

    /// <summary>
    /// Executed through an fd, the kernel names the process after the fd ("3"): it takes its program's name back, as
    /// ps and the daemon's own checks show it (the basename of argv[0], at most 15 bytes).
    /// </summary>
    private static unsafe void NameAfterProgram()
    {
        var commandLine = File.ReadAllBytes("/proc/self/cmdline");
        var first = commandLine.AsSpan(0, Math.Max(0, Array.IndexOf(commandLine, (byte)0)));
        var name = first[(first.LastIndexOf((byte)'/') + 1)..];
        Span<byte> comm = stackalloc byte[16];
        name[..Math.Min(name.Length, 15)].CopyTo(comm);
        fixed (byte* pointer = comm)
            Errno.Check(Libc.Prctl(Libc.PR_SET_NAME, (ulong)pointer, 0, 0, 0), "prctl", "PR_SET_NAME");
    }

    /// <summary>
    /// Root of its user namespace, without the daemon's groups: the spawn's call chain switched its ids after the
    /// daemon wrote the maps, and cannot check that it worked (an unmapped id reads as the overflow id, 65534).
    /// </summary>
    private static void RequireNamespaceRoot()
    {
        var (uid, gid, groups) = (Libc.Getuid(), Libc.Getgid(), Libc.Getgroups(0, null));
        if (uid != 0 || gid != 0 || groups != 0)
            throw new InvalidOperationException(string.Concat("the init is uid ", uid.ToString(), ", gid ", gid.ToString(),
                " with ", groups.ToString(), " supplementary groups in its user namespace, not root: its uid_map or gid_map was not written"));
    }

    private static void AttachStdin(string path)
    {
        var fd = Errno.Check(Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0), "open stdin", path);
        Errno.Check(Libc.Dup2(fd, 0), "dup2 stdin", path);
        Libc.Close(fd);
    }

    private static void SetHostname(byte[] hostname)
    {
        fixed (byte* p = hostname)
            Errno.Check(Libc.Sethostname(p, hostname.Length), "sethostname", Encoding.ASCII.GetString(hostname));
    }

    private static void RequireShell()
    {
        var error = Libc.TryStat("/bin/sh", 0, out var mode, out _);
        if (error == Errno.ENOENT || error == Errno.ENOTDIR || error == Errno.ELOOP)
            throw new InvalidOperationException("rootfs has no /bin/sh");
        if (error != 0)
            throw new NativeCallException("stat", "/bin/sh", error);
        if ((mode & Libc.S_IFMT) != Libc.S_IFREG)
            throw new InvalidOperationException("rootfs has no /bin/sh (it is not a regular file)");
    }

    /// <summary>The seccomp program the daemon compiled once for every init: the first frame on the control socket.</summary>
    private static Security.SeccompFilter ReceiveSeccomp()
    {
        Span<byte> prefix = stackalloc byte[4];
        var length = ReadExactly(prefix) ? Processes.InitMessage.ReadInt32(prefix) : -1;
        if (length is <= 0 or > Security.SeccompFilter.MaxProgramBytes)
            throw new InvalidDataException(length < 0 ? "the daemon closed the control socket before it sent the seccomp program"
                : string.Concat("the daemon sent a seccomp program of ", length.ToString(), " bytes"));
        var instructions = new byte[length];
        if (!ReadExactly(instructions))
            throw new InvalidDataException("the daemon closed the control socket in the middle of the seccomp program");
        return Security.SeccompFilter.FromInstructions(instructions);
    }

    /// <summary>Reads one framed message; null when the daemon closed the pipe instead.</summary>
    private static Processes.InitMessage? Receive()
    {
        Span<byte> prefix = stackalloc byte[4];
        if (!ReadExactly(prefix))
            return null;
        var length = Processes.InitMessage.ReadInt32(prefix);
        if (length <= 0 || length > Processes.InitMessage.MaxBytes)
            return null;
        var body = new byte[length];
        return ReadExactly(body) ? Processes.InitMessage.Decode(body) : null;
    }

    private static bool ReadExactly(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            var done = 0;
            while (done < buffer.Length)
            {
                var n = Libc.Read(ControlFd, p + done, buffer.Length - done);
                if (n == 0 || (n < 0 && Errno.Last != Errno.EINTR))
                    return false;
                if (n > 0)
                    done += (int)n;
            }
            return true;
        }
    }

    private static bool TryReport(ReadOnlySpan<byte> data)
    {
        try
        {
            Libc.WriteAll(ReportFd, data, "report pipe");
            return true;
        }
        catch (NativeCallException)
        {
            return false; // EPIPE: nobody listens any more
        }
    }
}
