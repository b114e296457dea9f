using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>libc: credentials and the clone flags of a spawn into a new user namespace.</summary>
internal static unsafe partial class Libc
{
    public const int CLONE_VM = 0x100, CLONE_VFORK = 0x4000, CLONE_PARENT_SETTID = 0x100000, CLONE_NEWUSER = 0x10000000;
    public const long SYS_rt_sigaction = 13, SYS_setgroups = 116, SYS_setresuid = 117, SYS_setresgid = 119, SYS_prctl = 157, SYS_dup3 = 292, SYS_execveat = 322;
    /// <summary>The kernel's sigset size, the last argument of rt_sigaction(2).</summary>
    public const int KernelSigsetBytes = 8;

    [LibraryImport(Lib, EntryPoint = "getuid")]
    public static partial uint Getuid();

    [LibraryImport(Lib, EntryPoint = "getgid")]
    public static partial uint Getgid();

    [LibraryImport(Lib, EntryPoint = "getgroups", SetLastError = true)]
    public static partial int Getgroups(int size, uint* list);

    [LibraryImport(Lib, EntryPoint = "fchown", SetLastError = true)]
    public static partial int Fchown(int fd, uint owner, uint group);

    [LibraryImport(Lib, EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Lchown(string path, uint owner, uint group);

    [LibraryImport(Lib, EntryPoint = "fchownat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Fchownat(int dirFd, string path, uint owner, uint group, int flags);
}

/// <summary>
/// glibc's x86-64 ucontext_t (968 bytes since glibc 2.28), with the fields a call chain sets; getcontext fills the
/// rest (the FPU state, whose pointer points into the struct itself, so each one is filled where it lives).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Bytes)]
internal unsafe struct UserContext
{
    public const int Bytes = 1024;
    public const int SigsetWords = 16;
    [FieldOffset(8)] public UserContext* Link;
    [FieldOffset(16)] public void* StackBase;
    [FieldOffset(24)] public int StackFlags;
    [FieldOffset(32)] public nuint StackBytes;
    [FieldOffset(296)] public fixed ulong SignalMask[SigsetWords];
}

/// <summary>
/// Raw function pointers for a spawn into a new user namespace: clone(2) with CLONE_VM|CLONE_VFORK whose child
/// starts in setcontext, and the libc functions the child's call chain runs (their addresses go into its contexts).
/// The child never runs managed code: in a copy of a multithreaded runtime it could wait forever on a GC.
/// </summary>
internal static unsafe class CloneCalls
{
    /// <summary>glibc clone(fn, stack, flags, arg, parent_tid, tls, child_tid).</summary>
    public static readonly delegate* unmanaged<nint, void*, int, void*, int*, void*, int*, int> Clone;
    public static readonly delegate* unmanaged<UserContext*, int> GetContext;
    /// <summary>makecontext(ucp, func, argc, ...): variadic; x86-64 glibc takes up to six 64-bit integer arguments in registers.</summary>
    public static readonly delegate* unmanaged<UserContext*, nint, int, nint, nint, nint, nint, nint, nint, void> MakeContext;
    public static readonly nint SetContext, Read, Write, Syscall, Setsid, Close, Open, Dup2, CloseRange, Execve, ExitNow;

    static CloneCalls()
    {
        var libc = NativeLibrary.Load("libc.so.6");
        nint Export(string name) => NativeLibrary.GetExport(libc, name);
        Clone = (delegate* unmanaged<nint, void*, int, void*, int*, void*, int*, int>)Export("clone");
        GetContext = (delegate* unmanaged<UserContext*, int>)Export("getcontext");
        MakeContext = (delegate* unmanaged<UserContext*, nint, int, nint, nint, nint, nint, nint, nint, void>)Export("makecontext");
        SetContext = Export("setcontext");
        Read = Export("read");
        Write = Export("write");
        Syscall = Export("syscall");
        Setsid = Export("setsid");
        Close = Export("close");
        Open = Export("open");
        Dup2 = Export("dup2");
        CloseRange = Export("close_range");
        Execve = Export("execve");
        ExitNow = Export("_exit");
    }
}
