using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>libc: processes, namespaces, credentials and signals.</summary>
internal static unsafe partial class Libc
{
    public const int CLONE_NEWNS = 0x20000, CLONE_NEWCGROUP = 0x02000000, CLONE_NEWUTS = 0x04000000,
        CLONE_NEWIPC = 0x08000000, CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000;
    public const int SIGKILL = 9, SIGPIPE = 13, SIGTERM = 15, SIGCHLD = 17, SIGSTOP = 19;
    public const int SIG_SETMASK = 2;
    public const int WNOHANG = 1;
    public const int PR_SET_PDEATHSIG = 1, PR_SET_NAME = 15, PR_CAPBSET_READ = 23, PR_CAPBSET_DROP = 24, PR_SET_NO_NEW_PRIVS = 38,
        PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_CLEAR_ALL = 4;
    public const int KEYCTL_JOIN_SESSION_KEYRING = 1, SECCOMP_SET_MODE_FILTER = 1;
    private const long SYS_rt_sigprocmask = 14, SYS_keyctl = 250, SYS_seccomp = 317;

    [LibraryImport(Lib, EntryPoint = "unshare", SetLastError = true)]
    public static partial int Unshare(int flags);

    [LibraryImport(Lib, EntryPoint = "sethostname", SetLastError = true)]
    public static partial int Sethostname(byte* name, nint length);

    [LibraryImport(Lib, EntryPoint = "execve", SetLastError = true)]
    public static partial int Execve(byte* path, byte** argv, byte** envp);

    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Lib, EntryPoint = "waitpid", SetLastError = true)]
    public static partial int Waitpid(int pid, int* status, int options);

    [LibraryImport(Lib, EntryPoint = "prctl", SetLastError = true)]
    public static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport(Lib, EntryPoint = "capset", SetLastError = true)]
    public static partial int Capset(CapHeader* header, CapData* data);

    [LibraryImport(Lib, EntryPoint = "capget", SetLastError = true)]
    public static partial int Capget(CapHeader* header, CapData* data);

    public const int PRIO_PROCESS = 0;

    /// <summary>setpriority(2): with PRIO_PROCESS Linux sets the nice value of one thread (tid).</summary>
    [LibraryImport(Lib, EntryPoint = "setpriority", SetLastError = true)]
    public static partial int Setpriority(int which, int who, int nice);

    [LibraryImport(Lib, EntryPoint = "_exit")]
    public static partial void Exit(int status);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    private static partial int Syscall4(long number, nint a, nint b, nint c, nint d);

    /// <summary>rt_sigaction(2) with the kernel's struct (handler, flags, restorer, mask).</summary>
    public static int SignalAction(int signal, KernelSigaction* action, KernelSigaction* old) =>
        Syscall4(SYS_rt_sigaction, signal, (nint)action, (nint)old, 8);

    /// <summary>keyctl(2) with up to two arguments: glibc has no wrapper (libkeyutils does; we need one call).</summary>
    public static int Keyctl(int operation, nint argument2, nint argument3) => Syscall4(SYS_keyctl, operation, argument2, argument3, 0);

    /// <summary>seccomp(2) SECCOMP_SET_MODE_FILTER: installs a compiled BPF program on the calling thread.</summary>
    public static int SeccompSetFilter(SockFilterProgram* program) => Syscall4(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (nint)program, 0);

    /// <summary>rt_sigprocmask(2) on the calling thread.</summary>
    public static int SignalMask(int how, ulong* set, ulong* old) =>
        Syscall4(SYS_rt_sigprocmask, how, (nint)set, (nint)old, 8);
}

[StructLayout(LayoutKind.Sequential)]
internal struct KernelSigaction
{
    public nint Handler;
    public ulong Flags;
    public nint Restorer;
    public ulong Mask;
}

/// <summary>struct sock_fprog: a classic BPF program of Length 8-byte instructions.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockFilterProgram
{
    public const int InstructionBytes = 8;
    public ushort Length;
    public byte* Instructions;
}

[StructLayout(LayoutKind.Sequential)]
internal struct CapHeader
{
    public const uint Version3 = 0x20080522;
    public uint Version;
    public int Pid;
}

[StructLayout(LayoutKind.Sequential)]
internal struct CapData
{
    public uint Effective, Permitted, Inheritable;
}

/// <summary>libc: resource limits.</summary>
internal static unsafe partial class Libc
{
    public const int RLIMIT_NOFILE = 7;

    [LibraryImport(Lib, EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRlimit(int resource, ResourceLimit* limit);

    [LibraryImport(Lib, EntryPoint = "setrlimit", SetLastError = true)]
    public static partial int SetRlimit(int resource, ResourceLimit* limit);
}

/// <summary>struct rlimit.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ResourceLimit
{
    public ulong Current;
    public ulong Maximum;
}

/// <summary>libc: the parent, and exec by path.</summary>
internal static unsafe partial class Libc
{
    [LibraryImport(Lib, EntryPoint = "getppid")]
    public static partial int Getppid();

    [LibraryImport(Lib, EntryPoint = "execv", SetLastError = true)]
    public static partial int Execv(byte* path, byte** argv);
}
