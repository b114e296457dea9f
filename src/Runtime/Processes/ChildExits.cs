using System.Runtime.InteropServices;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// Reaps the inits this process spawned, without a thread per child: on every
/// SIGCHLD each watched pid is polled with waitpid(WNOHANG). Only our own pids
/// are waited for, so children of other code (Process.Start) are left alone.
/// </summary>
internal static unsafe class ChildExits
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<int, TaskCompletionSource<ExitStatus>> Watched = [];
    private static PosixSignalRegistration? _registration;

    /// <summary>Completes when <paramref name="pid"/> (a child of this process) has exited and been reaped.</summary>
    public static Task<ExitStatus> WatchAsync(int pid)
    {
        Task<ExitStatus> task;
        lock (Gate)
        {
            if (!OperatingSystem.IsLinux())
                throw new PlatformNotSupportedException("lcluster containers need Linux");
            _registration ??= PosixSignalRegistration.Create(PosixSignal.SIGCHLD, _ => Scan());
            if (!Watched.TryGetValue(pid, out var source))
            {
                source = new TaskCompletionSource<ExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
                Watched[pid] = source;
            }
            task = source.Task;
        }
        Scan(); // it may have exited before it was watched
        return task;
    }

    /// <summary>Signals a watched child unless it was already reaped (then its pid may belong to someone else).</summary>
    public static void SignalIfAlive(int pid, int signal)
    {
        lock (Gate)
        {
            if (Watched.ContainsKey(pid))
                Libc.Kill(pid, signal);
        }
    }

    /// <summary>How many pids are being watched (for leak tests).</summary>
    public static int Count
    {
        get
        {
            lock (Gate)
                return Watched.Count;
        }
    }

    private static void Scan()
    {
        lock (Gate)
        {
            if (Watched.Count == 0)
                return;
            foreach (var pid in Watched.Keys.ToArray())
            {
                int status;
                var result = Libc.Waitpid(pid, &status, Libc.WNOHANG);
                if (result == pid)
                    Complete(pid, ExitStatus.FromWaitStatus(status));
                else if (result == -1 && Marshal.GetLastPInvokeError() == Errno.ECHILD)
                    Complete(pid, ExitStatus.Lost);
            }
        }
    }

    private static void Complete(int pid, ExitStatus status)
    {
        Watched.Remove(pid, out var source);
        source!.TrySetResult(status);
    }
}
