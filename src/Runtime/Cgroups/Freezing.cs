namespace Lcluster.Runtime.Cgroups;

/// <summary>
/// Kill without cgroup.kill: freeze the cgroup so nothing can fork, SIGKILL every
/// process listed, thaw so the signals are delivered.
/// </summary>
internal static class Freezing
{
    private static readonly TimeSpan FreezeWait = TimeSpan.FromSeconds(5);

    public static void KillFrozen(CgroupFs fs, Action freeze, Func<bool> isFrozen, Action thaw, string procsFile)
    {
        freeze();
        var deadline = DateTime.UtcNow + FreezeWait;
        // A freezing cgroup can take a moment; after the deadline we kill anyway and rely on repeated passes.
        while (!isFrozen() && DateTime.UtcNow < deadline)
            Thread.Sleep(1);
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
