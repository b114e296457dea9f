using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// The one thread of the process that spawns inits, for the process's whole life.
/// A child's PR_SET_PDEATHSIG fires when the thread that forked it exits, so
/// with a thread per spawn it fired at once; with this one it fires only when
/// the daemon dies. Without user namespaces it unshares fresh namespaces for each
/// spawn (they are per-thread), posix_spawn's from there, and goes back to the
/// daemon's own; with them, one clone makes the child's namespaces.
/// </summary>
internal static class SpawnerThread
{
    private const int Namespaces = Libc.CLONE_NEWNS | Libc.CLONE_NEWPID | Libc.CLONE_NEWUTS | Libc.CLONE_NEWIPC | Libc.CLONE_NEWNET;
    private const int StackBytes = 256 << 10;
    private static readonly BlockingCollection<SpawnRequest> Requests = new();
    private static readonly Lazy<OwnNamespaces> Own = new(OwnNamespaces.Open);
    private static readonly Lock Gate = new();
    private static Thread? _thread;
    private static string? _broken;

    public static void Enqueue(SpawnRequest request)
    {
        var own = Own.Value; // opened here: a failure is the caller's exception, not the thread's
        lock (Gate)
        {
            if (_broken is not null)
                throw new SandboxException($"no container can start: {_broken}; restart the daemon");
            if (_thread is null)
            {
                _thread = new Thread(() => Loop(own), StackBytes) { IsBackground = true, Name = "lcluster-spawn" };
                _thread.UnsafeStart();
            }
            Requests.Add(request);
        }
    }

    private static unsafe void Loop(OwnNamespaces own)
    {
        foreach (var request in Requests.GetConsumingEnumerable())
        {
            if (request is UserNamespaceSpawnRequest clone)
                Clone(clone);
            else
                Spawn((PosixSpawnRequest)request, own);
            if (request.RestoreFailed)
            {
                // In another namespace now, maybe unable to start threads: this thread may spawn nothing more.
                lock (Gate)
                    _broken = $"the spawner thread could not return to the daemon's namespaces ({request.FailedCall}: errno {request.Error})";
                foreach (var waiting in Requests.GetConsumingEnumerable())
                {
                    waiting.Error = request.Error;
                    waiting.FailedCall = request.FailedCall;
                    if (waiting is UserNamespaceSpawnRequest unborn)
                        CloseAlive(unborn); // its handshake waits on this pipe first
                    SpawnCalls.Close(waiting.DoneFd);
                }
            }
        }
    }

    // Runs with the PID namespace unshared: only raw native calls until it is restored, nothing that could start a thread.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe void Spawn(PosixSpawnRequest r, OwnNamespaces own)
    {
        if (SpawnCalls.Unshare(Namespaces) != 0)
        {
            r.Error = *SpawnCalls.ErrnoLocation();
            r.FailedCall = "unshare";
        }
        else
        {
            int pid;
            var error = SpawnCalls.PosixSpawn(&pid, r.Path, r.FileActions, r.Attributes, r.Argv, r.Envp);
            if (error != 0)
            {
                r.Error = error;
                r.FailedCall = "posix_spawn";
            }
            else
            {
                r.Pid = pid;
            }
            // Back to the daemon's namespaces, PID first (until then this thread cannot start threads, so no helper call):
            // the next spawn unshares fresh copies of the daemon's namespaces, not of the last init's.
            if (SpawnCalls.Setns(own.Pid, Libc.CLONE_NEWPID) != 0)
            {
                r.RestoreFailed = true;
                r.Error = r.FailedCall is null ? *SpawnCalls.ErrnoLocation() : r.Error;
                r.FailedCall ??= "setns back to the daemon's pid namespace";
            }
            Restore(r, own.Net, Libc.CLONE_NEWNET, "setns back to the daemon's network namespace");
            Restore(r, own.Ipc, Libc.CLONE_NEWIPC, "setns back to the daemon's ipc namespace");
            Restore(r, own.Uts, Libc.CLONE_NEWUTS, "setns back to the daemon's uts namespace");
            Restore(r, own.Mount, Libc.CLONE_NEWNS, "setns back to the daemon's mount namespace");
        }
        SpawnCalls.Close(r.DoneFd);
    }

    /// <summary>
    /// One clone into a new user namespace. The child shares this process's memory until it execs (CLONE_VM, and
    /// this thread waits meanwhile: CLONE_VFORK), so every signal stays blocked from here until its chain unblocks
    /// them at the execve: no handler of the runtime may run in it.
    /// <para>
    /// The clone is made as the namespace's owner (<see cref="UserNamespaceSpawnRequest.Owner"/>): this thread alone
    /// takes that effective uid for the call (its real and saved uids stay root's, so it may take root's back) and
    /// then root's again; the child has every capability in its new namespace whoever made it, and the daemon, root
    /// of the parent, writes its maps as before.
    /// </para>
    /// </summary>
    private static unsafe void Clone(UserNamespaceSpawnRequest r)
    {
        ulong all = ulong.MaxValue, previous;
        Libc.SignalMask(Libc.SIG_SETMASK, &all, &previous);
        int pid = -1, error = 0;
        if (SpawnCalls.SetThreadEffectiveUid(r.Owner) != 0)
        {
            error = *SpawnCalls.ErrnoLocation();
            r.FailedCall = "setresuid to the new namespace's owner";
        }
        else if (RaiseEffectiveCapabilities() != 0)
        {
            error = *SpawnCalls.ErrnoLocation();
            r.FailedCall = "capset of the namespace owner's capabilities";
            RestoreRoot(r, ref error);
        }
        else
        {
            pid = CloneCalls.Clone(CloneCalls.SetContext, r.CloneStackTop, UserNamespaceSpawnRequest.Flags, r.FirstContext, r.ChildPid, null, null);
            if (pid == -1)
            {
                error = *SpawnCalls.ErrnoLocation();
                r.FailedCall = "clone into a new user namespace";
            }
            RestoreRoot(r, ref error);
        }
        Libc.SignalMask(Libc.SIG_SETMASK, &previous, null);
        if (r.FailedCall is not null)
            r.Error = error;
        if (pid != -1)
            r.Pid = pid;
        CloseAlive(r); // the child exec'd or died by now
        SpawnCalls.Close(r.DoneFd);
    }

    /// <summary>
    /// Effective capabilities taken back from the permitted set, which a change of the effective uid from root leaves
    /// alone while it empties the effective one: so the clone is still a privileged one. An unprivileged one is refused
    /// or confined on some hosts (Debian's kernel.unprivileged_userns_clone=0; Ubuntu's AppArmor restriction of user
    /// namespaces, which denies every capability inside). This thread only; root's uid back restores them all the same.
    /// </summary>
    private static unsafe int RaiseEffectiveCapabilities()
    {
        var header = new CapHeader { Version = CapHeader.Version3, Pid = 0 };
        var data = stackalloc CapData[2];
        if (Libc.Capget(&header, data) != 0)
            return -1;
        data[0].Effective = data[0].Permitted;
        data[1].Effective = data[1].Permitted;
        return Libc.Capset(&header, data);
    }

    /// <summary>Root's effective uid back on this thread; when it cannot be, the thread may spawn nothing more (<see cref="Loop"/>).</summary>
    private static unsafe void RestoreRoot(UserNamespaceSpawnRequest r, ref int error)
    {
        if (SpawnCalls.SetThreadEffectiveUid(0) == 0)
            return;
        r.RestoreFailed = true;
        if (r.FailedCall is null)
        {
            error = *SpawnCalls.ErrnoLocation();
            r.FailedCall = "setresuid back to root";
        }
    }

    /// <summary>EOF on the alive pipe tells the handshake no child will say it is alive (it already did, or never will).</summary>
    private static unsafe void CloseAlive(UserNamespaceSpawnRequest r)
    {
        SpawnCalls.Close(r.AliveWrite);
        r.AliveWrite = -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static unsafe void Restore(SpawnRequest r, int fd, int type, string what)
    {
        if (SpawnCalls.Setns(fd, type) == 0)
            return;
        r.RestoreFailed = true;
        if (r.FailedCall is null)
        {
            r.Error = *SpawnCalls.ErrnoLocation();
            r.FailedCall = what;
        }
    }

    /// <summary>fds of the daemon's own namespaces, opened once and kept for the process's life.</summary>
    private sealed record OwnNamespaces(int Pid, int Net, int Ipc, int Uts, int Mount)
    {
        public static OwnNamespaces Open() =>
            new(OpenNamespace("pid"), OpenNamespace("net"), OpenNamespace("ipc"), OpenNamespace("uts"), OpenNamespace("mnt"));

        private static int OpenNamespace(string name) =>
            Errno.Check(Libc.Open("/proc/self/ns/" + name, Libc.O_RDONLY | Libc.O_CLOEXEC, 0), "open", "/proc/self/ns/" + name);
    }
}
