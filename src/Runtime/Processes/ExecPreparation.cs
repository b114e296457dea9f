using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>What the exec'ing thread fixes up so the job starts clean: signals, fds, no_new_privs.</summary>
internal static unsafe class ExecPreparation
{
    private const nint SIG_DFL = 0, SIG_IGN = 1;

    /// <summary>execve keeps ignored signals ignored (.NET ignores SIGPIPE) and keeps the mask: reset both.</summary>
    public static void ResetSignals()
    {
        for (var signal = 1; signal <= 64; signal++)
        {
            if (signal is Libc.SIGKILL or Libc.SIGSTOP)
                continue;
            KernelSigaction old;
            if (Libc.SignalAction(signal, null, &old) == -1)
                continue; // signals the kernel reserves (32, 33 for glibc's threads) are not ours to touch
            if (old.Handler != SIG_IGN)
                continue;
            var action = new KernelSigaction { Handler = SIG_DFL };
            Errno.Check(Libc.SignalAction(signal, &action, null), "reset signal", signal.ToString());
        }
        ulong empty = 0;
        Errno.Check(Libc.SignalMask(Libc.SIG_SETMASK, &empty, null), "unblock signals");
    }

    public static void SetNoNewPrivileges() =>
        Errno.Check(Libc.Prctl(Libc.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");

    /// <summary>Every fd above 2 closes at execve; until then the report pipe still works.</summary>
    public static void CloseFdsOnExec() =>
        Errno.Check(Libc.CloseRange(3, uint.MaxValue, Libc.CLOSE_RANGE_CLOEXEC), "close_range");

    /// <summary>A NUL-terminated UTF-8 copy in unmanaged memory (never freed: execve replaces the process).</summary>
    public static byte* NativeString(string value)
    {
        var length = System.Text.Encoding.UTF8.GetByteCount(value);
        var p = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)length + 1);
        System.Text.Encoding.UTF8.GetBytes(value, new Span<byte>(p, length));
        p[length] = 0;
        return p;
    }

    public static byte** NativeArray(IReadOnlyList<string> values)
    {
        var array = (byte**)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)(values.Count + 1), (nuint)sizeof(byte*));
        for (var i = 0; i < values.Count; i++)
            array[i] = NativeString(values[i]);
        array[values.Count] = null;
        return array;
    }
}
