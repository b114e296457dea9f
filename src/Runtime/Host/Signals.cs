using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Host;

/// <summary>Signals to processes the daemon supervises outside containers (its embedded etcd).</summary>
public static class Signals
{
    /// <summary>Asks a process to stop (SIGTERM); false when it no longer exists.</summary>
    public static bool Terminate(int pid)
    {
        if (Libc.Kill(pid, Libc.SIGTERM) == 0)
            return true;
        var errno = Errno.Last;
        return errno == Errno.ESRCH ? false : throw new NativeCallException("kill", $"pid {pid}", errno);
    }
}
