using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>
/// libc: posix_spawn. The attribute and file-action calls run on an ordinary
/// thread; the calls made on the namespace thread go through <see cref="SpawnCalls"/>.
/// </summary>
internal static unsafe partial class Libc
{
    public const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;
    public const int FileActionsSize = 80, SpawnAttrSize = 336, SigsetSize = 128;

    // These return an error number instead of setting errno.
    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_init")]
    public static partial int FileActionsInit(void* actions);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_destroy")]
    public static partial int FileActionsDestroy(void* actions);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static partial int FileActionsAddDup2(void* actions, int fd, int newFd);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_addopen", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FileActionsAddOpen(void* actions, int fd, string path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_addclosefrom_np")]
    public static partial int FileActionsAddCloseFrom(void* actions, int from);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_init")]
    public static partial int SpawnAttrInit(void* attr);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_destroy")]
    public static partial int SpawnAttrDestroy(void* attr);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setflags")]
    public static partial int SpawnAttrSetFlags(void* attr, short flags);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setsigmask")]
    public static partial int SpawnAttrSetSigmask(void* attr, void* sigset);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setsigdefault")]
    public static partial int SpawnAttrSetSigdefault(void* attr, void* sigset);

    [LibraryImport(Lib, EntryPoint = "sigemptyset")]
    public static partial int SigEmptySet(void* sigset);

    [LibraryImport(Lib, EntryPoint = "sigfillset")]
    public static partial int SigFillSet(void* sigset);

    /// <summary>Throws for a posix_spawn_* call that returned an error number.</summary>
    public static void CheckSpawn(int error, string call)
    {
        if (error != 0)
            throw new NativeCallException(call, null, error);
    }
}

/// <summary>
/// Raw function pointers for the thread that unshares the PID namespace: after
/// that unshare it cannot create threads, so between unshare and posix_spawn it
/// may run no managed stub that the runtime could tier up (which starts a thread).
/// </summary>
internal static unsafe class SpawnCalls
{
    public static readonly delegate* unmanaged<int, int> Unshare;
    public static readonly delegate* unmanaged<int*, byte*, void*, void*, byte**, byte**, int> PosixSpawn;
    public static readonly delegate* unmanaged<int, int> Close;
    public static readonly delegate* unmanaged<int, int, int> Setns;
    public static readonly delegate* unmanaged<int*> ErrnoLocation;
    /// <summary>syscall(2), for the ones glibc would apply to every thread (setresuid): raw, they change this thread alone.</summary>
    public static readonly delegate* unmanaged<long, long, long, long, long> Syscall3;

    /// <summary>This thread's effective uid (its real and saved ids, and every other thread's, unchanged); -1 and errno on failure.</summary>
    public static int SetThreadEffectiveUid(uint uid) => (int)Syscall3(Libc.SYS_setresuid, -1, uid, -1);

    static SpawnCalls()
    {
        var libc = NativeLibrary.Load("libc.so.6");
        Unshare = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(libc, "unshare");
        PosixSpawn = (delegate* unmanaged<int*, byte*, void*, void*, byte**, byte**, int>)NativeLibrary.GetExport(libc, "posix_spawn");
        Close = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(libc, "close");
        Setns = (delegate* unmanaged<int, int, int>)NativeLibrary.GetExport(libc, "setns");
        ErrnoLocation = (delegate* unmanaged<int*>)NativeLibrary.GetExport(libc, "__errno_location");
        Syscall3 = (delegate* unmanaged<long, long, long, long, long>)NativeLibrary.GetExport(libc, "syscall");
    }
}
