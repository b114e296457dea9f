namespace Lcluster.Runtime.Cgroups;

/// <summary>
/// Kill without cgroup.kill: freeze the cgroup so that (once frozen) nothing can fork, SIGKILL every process
/// listed, thaw so the signals are delivered. It does not wait for the freeze to complete (that would block a
/// thread, and it runs on timers): a task that forks before it is frozen leaves a child this pass misses, so
/// callers that must see the cgroup empty check it and pass again (Leftovers does), and a container's own kill
/// first takes its PID 1, whose death ends every process of its PID namespace.
/// </summary>
internal static class Freezing
{
    public static void KillFrozen(CgroupFs fs, Action freeze, Action thaw, string procsFile)
    {
        freeze();
        try
        {
            foreach (var pid in fs.ReadPids(procsFile))
                Native.Libc.Kill(pid, Native.Libc.SIGKILL);
        }
        finally
        {
            thaw();
        }
    }
}
