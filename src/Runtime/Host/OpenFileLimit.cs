using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Host;

/// <summary>The process's limit on open files (RLIMIT_NOFILE).</summary>
public static class OpenFileLimit
{
    /// <summary>
    /// Raises the soft limit, and as root the hard limit too (up to the kernel's fs.nr_open), to at least
    /// <paramref name="wanted"/>; never lowers either. Returns the soft limit now in force.
    /// </summary>
    public static unsafe ulong Raise(ulong wanted)
    {
        ResourceLimit limit;
        Errno.Check(Libc.GetRlimit(Libc.RLIMIT_NOFILE, &limit), "getrlimit", "RLIMIT_NOFILE");
        if (limit.Current >= wanted)
            return limit.Current;
        var raised = new ResourceLimit { Current = wanted, Maximum = Math.Max(limit.Maximum, wanted) };
        if (Libc.SetRlimit(Libc.RLIMIT_NOFILE, &raised) != 0)
        {
            // Not root (or past fs.nr_open): as far as the hard limit allows.
            raised = new ResourceLimit { Current = Math.Min(wanted, limit.Maximum), Maximum = limit.Maximum };
            Errno.Check(Libc.SetRlimit(Libc.RLIMIT_NOFILE, &raised), "setrlimit", "RLIMIT_NOFILE");
        }
        return raised.Current;
    }

    /// <summary>The soft limit now.</summary>
    public static unsafe ulong Current()
    {
        ResourceLimit limit;
        Errno.Check(Libc.GetRlimit(Libc.RLIMIT_NOFILE, &limit), "getrlimit", "RLIMIT_NOFILE");
        return limit.Current;
    }
}
