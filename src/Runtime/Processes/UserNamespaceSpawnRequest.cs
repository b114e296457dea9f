using System.IO.Pipes;
using Lcluster.Runtime.Native;
using Lcluster.Runtime.Security;
using Microsoft.Win32.SafeHandles;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// An init started in a new user namespace, with new mount, PID, UTS, IPC and network namespaces owned by it, by one
/// clone(CLONE_VM|CLONE_VFORK|CLONE_NEWUSER|...) from the spawner thread (a .NET process has threads, so it cannot
/// unshare a user namespace itself). The child runs a <see cref="CallChain"/>, never managed code: it asks to die
/// with the daemon, says it is alive, waits until the daemon wrote its uid_map and gid_map (<see cref="MapIdsAsync"/>), becomes root of the
/// namespace (its ids switch to the first id of its host range, before execve so it keeps its capabilities there),
/// starts a session, sets up its fds and signals as posix_spawn would, and execs the init.
/// </summary>
internal sealed class UserNamespaceSpawnRequest(int doneFd, HostIdRange ids) : SpawnRequest(doneFd)
{
    public const int Flags = Libc.CLONE_VM | Libc.CLONE_VFORK | Libc.CLONE_PARENT_SETTID | Libc.CLONE_NEWUSER | Libc.CLONE_NEWNS
        | Libc.CLONE_NEWPID | Libc.CLONE_NEWUTS | Libc.CLONE_NEWIPC | Libc.CLONE_NEWNET | Libc.SIGCHLD;
    /// <summary>The exit code of a child whose execve of the init failed.</summary>
    public const int ExecFailedExitCode = 127;
    private const int CloneStackBytes = 16 << 10;
    private const int FirstFreeFd = ContainerInit.ReportFd + 1;
    private static readonly nint AllFds = unchecked((nint)uint.MaxValue); // close_range: up to the last fd
    private readonly CallChain _chain = new();
    private readonly List<int> _duplicates = [];
    private int _aliveRead = -1, _goRead = -1, _goWrite = -1;

    /// <summary>The child's write end of the alive pipe: the spawner closes the daemon's copy once clone returned.</summary>
    public int AliveWrite = -1;
    /// <summary>Where clone (CLONE_PARENT_SETTID) stores the child's pid before the child runs.</summary>
    public unsafe int* ChildPid;
    public unsafe UserContext* FirstContext;
    public unsafe byte* CloneStackTop;
    /// <summary>
    /// The host uid the new user namespace is made by, and so owned by: its first host id. The kernel charges what a
    /// namespace's processes hold per user (inotify instances and watches, and the like) to each namespace up the chain,
    /// to the owner of the one below: owned by root, every job would draw on root's share on the host, and one job
    /// could take it whole (the host's own root services then get EMFILE). Owned by its first id, each job has a
    /// share of its own.
    /// </summary>
    public uint Owner => ids.First;

    /// <summary>Why the ids could not be mapped (the child was killed); null when they were.</summary>
    public IOException? MapFailure { get; private set; }

    public override unsafe void Prepare(InitLaunch launch, int control, int report, int stdout, int stderr)
    {
        (_aliveRead, AliveWrite) = Libc.MakePipe("spawn alive");
        (_goRead, _goWrite) = Libc.MakePipe("spawn go");
        var path = String(launch.Program);
        var argv = Array([launch.Program, .. launch.Arguments]);
        var envp = Array(launch.Environment);
        var scratch = (nint)Alloc(sizeof(long));
        var defaultAction = (nint)Alloc(sizeof(KernelSigaction)); // all zero: SIG_DFL, no flags, empty mask
        // Dies with the daemon (SIGKILL when the spawner thread, its parent, exits) while it waits for the maps; the id
        // change below resets that, and the init asks for it again. Without it, a daemon killed in this window left the
        // child waiting for "go" forever, holding a copy of every fd the daemon had (its data directory's lock among them).
        _chain.Add(CloneCalls.Syscall, (nint)Libc.SYS_prctl, Libc.PR_SET_PDEATHSIG, Libc.SIGKILL);
        _chain.Add(CloneCalls.Write, AliveWrite, scratch, 1);
        // Its own copy of the go pipe's write end closed: should the daemon die before the prctl above took hold, the
        // read below ends at EOF, and the init, not root of its namespace, refuses to run (ContainerInit.RequireNamespaceRoot).
        _chain.Add(CloneCalls.Close, _goWrite);
        _chain.Add(CloneCalls.Read, _goRead, scratch, 1);
        // Root of the new namespace: the kernel checks these against the maps the daemon wrote meanwhile.
        _chain.Add(CloneCalls.Syscall, (nint)Libc.SYS_setresgid, 0, 0, 0);
        _chain.Add(CloneCalls.Syscall, (nint)Libc.SYS_setgroups, 0, 0); // drops the daemon's supplementary groups
        _chain.Add(CloneCalls.Syscall, (nint)Libc.SYS_setresuid, 0, 0, 0);
        _chain.Add(CloneCalls.Setsid); // a terminal's Ctrl-C meant for the daemon never reaches the containers
        _chain.Add(CloneCalls.Close, 0);
        _chain.Add(CloneCalls.Open, (nint)String("/dev/null"), Libc.O_RDONLY); // the lowest free fd: 0
        _chain.Add(CloneCalls.Dup2, AboveInitFds(stdout), 1);
        _chain.Add(CloneCalls.Dup2, AboveInitFds(stderr), 2);
        _chain.Add(CloneCalls.Dup2, AboveInitFds(control), ContainerInit.ControlFd);
        _chain.Add(CloneCalls.Dup2, AboveInitFds(report), ContainerInit.ReportFd);
        foreach (var signal in SignalsNotDefault())
            _chain.Add(CloneCalls.Syscall, (nint)Libc.SYS_rt_sigaction, signal, defaultAction, 0, Libc.KernelSigsetBytes);
        if (launch.ProgramFile is { } program)
        {
            // The program by fd (kept open past close_range, close-on-exec): no directory above it is searched as the
            // child. dup3 onto itself fails (EINVAL) and leaves it as it should be.
            _chain.Add(CloneCalls.Syscall, (nint)Libc.SYS_dup3, AboveInitFds(program.DangerousGetHandle().ToInt32()), FirstFreeFd, Libc.O_CLOEXEC);
            _chain.Add(CloneCalls.CloseRange, FirstFreeFd + 1, AllFds, 0);
            _chain.AddUnblocked(CloneCalls.Syscall, (nint)Libc.SYS_execveat, FirstFreeFd, (nint)String(""), (nint)argv, (nint)envp, Libc.AT_EMPTY_PATH);
        }
        else
        {
            _chain.Add(CloneCalls.CloseRange, FirstFreeFd, AllFds, 0);
            _chain.AddUnblocked(CloneCalls.Execve, (nint)path, (nint)argv, (nint)envp);
        }
        _chain.Add(CloneCalls.ExitNow, ExecFailedExitCode);
        FirstContext = _chain.Build();
        CloneStackTop = (byte*)Alloc(CloneStackBytes) + CloneStackBytes;
        ChildPid = (int*)Alloc(sizeof(int));
    }

    /// <summary>
    /// The daemon's half of the handshake, run while the spawner thread waits in clone: once the child is alive,
    /// writes "0 First Count" to its uid_map and gid_map (setgroups stays "allow": the daemon has CAP_SETGID, and the
    /// child drops the daemon's groups) and lets it go on. If a map cannot be written the child is killed instead.
    /// </summary>
    public async Task MapIdsAsync()
    {
        var buffer = new byte[1];
        int read;
        await using (var alive = new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle(_aliveRead, ownsHandle: true)))
            read = await alive.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false);
        _aliveRead = -1;
        if (read == 0)
            return; // the clone failed: the spawner thread closed the write end and says why
        var pid = ReadChildPid();
        try
        {
            WriteMap(pid, "uid_map");
            WriteMap(pid, "gid_map");
            Libc.WriteAll(_goWrite, buffer, "spawn go pipe");
        }
        catch (IOException e)
        {
            MapFailure = e;
            Libc.Kill(pid, Libc.SIGKILL); // still our unreaped child, stopped in its chain: the pid is its own
        }
    }

    public override void Dispose()
    {
        foreach (var fd in _duplicates.Concat([_aliveRead, AliveWrite, _goRead, _goWrite]).Where(fd => fd >= 0))
            Libc.Close(fd);
        _duplicates.Clear();
        _aliveRead = AliveWrite = _goRead = _goWrite = -1;
        _chain.Dispose();
        base.Dispose();
    }

    private unsafe int ReadChildPid() => *ChildPid;

    private void WriteMap(int pid, string name)
    {
        var path = $"/proc/{pid}/{name}";
        var fd = Errno.Check(Libc.Open(path, Libc.O_WRONLY | Libc.O_CLOEXEC, 0), "open", path);
        try
        {
            Libc.WriteAll(fd, System.Text.Encoding.ASCII.GetBytes(ids.MapLine), path); // one write: the kernel takes no second
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>An fd the chain can dup2 in any order: a source below ReportFd + 1 could be overwritten by an earlier dup2.</summary>
    private nint AboveInitFds(int fd)
    {
        if (fd >= FirstFreeFd)
            return fd;
        var copy = Errno.Check(Libc.Fcntl(fd, Libc.F_DUPFD_CLOEXEC, FirstFreeFd), "fcntl F_DUPFD_CLOEXEC", "init fd");
        _duplicates.Add(copy);
        return copy;
    }

    /// <summary>Signals whose disposition is not SIG_DFL now (the runtime's handlers, SIGPIPE ignored): the child resets them.</summary>
    private static unsafe List<int> SignalsNotDefault()
    {
        var signals = new List<int>();
        for (var signal = 1; signal <= 64; signal++)
        {
            KernelSigaction current;
            if (signal is Libc.SIGKILL or Libc.SIGSTOP || Libc.SignalAction(signal, null, &current) != 0)
                continue; // SIGKILL and SIGSTOP cannot be changed; the kernel refuses none other, but skip what it does
            if (current.Handler != 0)
                signals.Add(signal);
        }
        return signals;
    }
}
