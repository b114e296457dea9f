using System.IO.Pipes;
using Lcluster.Runtime.Native;
using Lcluster.Runtime.Security;
using Microsoft.Win32.SafeHandles;

namespace Lcluster.Runtime.Processes;

/// <summary>What to start in init mode; with <paramref name="UserIds"/>, each init in a user namespace of its own.</summary>
/// <param name="Seccomp">
/// The seccomp program each init gets first on its control socket (<see cref="SeccompFilter.CompileDockerDefault"/>), compiled
/// at the first init and kept; null: the inits run jobs without one (a test sandbox's choice, told by their arguments).
/// </param>
/// <param name="ProgramFile">
/// With user namespaces: the program opened O_PATH by the daemon. The init, an unprivileged host id before its execve,
/// executes it through this fd, so the directories above the program need not be open to others.
/// </param>
internal sealed record InitLaunch(string Program, IReadOnlyList<string> Arguments, IReadOnlyList<string> Environment,
    IdRanges? UserIds = null, SafeFileHandle? ProgramFile = null, Lazy<byte[]>? Seccomp = null);

/// <summary>
/// Starts an init as PID 1 of fresh mount, PID, UTS, IPC and network namespaces (and, when the launch says so, a
/// user namespace owning them, mapped onto a block of host ids it holds until it exits), from the one long-lived
/// <see cref="SpawnerThread"/>: the init's parent is that thread, so the PR_SET_PDEATHSIG the init sets fires only
/// when the daemon dies.
/// </summary>
internal static class InitSpawner
{
    public static async Task<InitProcess> SpawnAsync(InitLaunch launch)
    {
        var lease = launch.UserIds?.Take();
        var control = Libc.MakeSocketPair("init control"); // a socket: a job's idmapped rootfs comes over it as an fd
        var report = Libc.MakePipe("init report");
        var stdout = Libc.MakePipe("job stdout");
        var stderr = Libc.MakePipe("job stderr");
        int pid;
        try
        {
            pid = await StartAsync(launch, lease?.Range, control.Second, report.Write, stdout.Write, stderr.Write).ConfigureAwait(false);
        }
        catch
        {
            lease?.Dispose();
            foreach (var fd in new[] { control.First, report.Read, stdout.Read, stderr.Read })
                Libc.Close(fd);
            throw;
        }
        finally
        {
            foreach (var fd in new[] { control.Second, report.Write, stdout.Write, stderr.Write })
                Libc.Close(fd);
        }
        return new InitProcess(pid, control.First, report.Read, stdout.Read, stderr.Read, lease);
    }

    private static async Task<int> StartAsync(InitLaunch launch, HostIdRange? ids, int control, int report, int stdout, int stderr)
    {
        var done = Libc.MakePipe("spawn done");
        using SpawnRequest request = ids is { } range ? new UserNamespaceSpawnRequest(done.Write, range) : new PosixSpawnRequest(done.Write);
        try
        {
            if (ids is { } owner)
                GiveOutputTo(owner, stdout, stderr);
            request.Prepare(launch, control, report, stdout, stderr);
            SpawnerThread.Enqueue(request);
        }
        catch
        {
            Libc.Close(done.Write);
            Libc.Close(done.Read);
            throw;
        }
        if (request is UserNamespaceSpawnRequest clone)
            await clone.MapIdsAsync().ConfigureAwait(false); // the child waits in clone for it; done comes after its execve
        // The spawner thread must not touch the thread pool; it signals by closing its end of this pipe.
        await using (var doneStream = new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle(done.Read, true)))
            await doneStream.ReadAsync(new byte[1], CancellationToken.None).ConfigureAwait(false);
        if (request.FailedCall is { } call)
        {
            if (request.Pid > 0)
            {
                // Made and exec'd, then the spawner thread could not be root again: the init runs, and is not the caller's.
                Libc.Kill(request.Pid, Libc.SIGKILL);
                await ChildExits.WatchAsync(request.Pid).ConfigureAwait(false);
            }
            throw new NativeCallException(call, launch.Program, request.Error);
        }
        if (request is UserNamespaceSpawnRequest { MapFailure: { } failure })
        {
            await ChildExits.WatchAsync(request.Pid).ConfigureAwait(false); // killed in its chain: reap it
            throw failure;
        }
        return request.Pid;
    }

    /// <summary>
    /// The job's stdout and stderr pipes belong to the container's root, as runc and LXC do it: a job reopening
    /// /dev/stdout (/proc/self/fd/1) is checked against the pipe's owner, which would otherwise be host root.
    /// </summary>
    private static void GiveOutputTo(HostIdRange owner, int stdout, int stderr)
    {
        Errno.Check(Libc.Fchown(stdout, owner.First, owner.First), "fchown", "job stdout pipe");
        Errno.Check(Libc.Fchown(stderr, owner.First, owner.First), "fchown", "job stderr pipe");
    }
}
