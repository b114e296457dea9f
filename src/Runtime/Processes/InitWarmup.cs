using Lcluster.Runtime.Mounts;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// What a pooled init does before it says it is ready: the job-independent
/// steps for real, and one harmless call of each native function and type the
/// build path needs, so a job's start pays no symbol binding, stub or type loading.
/// </summary>
internal static unsafe class InitWarmup
{
    public static void Run()
    {
        RootFilesystem.MakePrivate();
        Loopback.Up();
        var sample = new InitMessage("warm", "/", "/", null, "true", 1 << 20, ["PATH=/bin"]) { WorkspaceSource = "/proc/1/fd/0" }.Encode();
        _ = InitMessage.Decode(sample.AsSpan(4));
        _ = InitMessage.ReadInt32(sample);
        // Each of these fails at once on an empty path or a bad fd and changes nothing.
        var longText = string.Concat("lowerdir=", new string('x', 300), ",upperdir=", "/", ",workdir=" + "/"); // overlay options are long
        Libc.Mount(longText, "", longText, 0, longText);
        Libc.Mount(null, "", null, 0, null);
        Libc.Umount2("", 0);
        Libc.PivotRoot("", "");
        Libc.Mkdir("", 0);
        Libc.Mknod("", 0, 0);
        Libc.Chmod("", 0);
        Libc.Symlink("", "");
        Libc.Chdir("");
        Libc.Fchdir(-1);
        Libc.MoveMount(-1, "", -1, "", 0);
        Libc.Open("", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        Libc.Dup2(-1, -1);
        Libc.Close(-1);
        Libc.Sethostname(null, -1);
        Libc.Execve(null, null, null);
        Libc.Unshare(0);
        Libc.Prctl(Libc.PR_CAPBSET_READ, 0, 0, 0, 0);
        Libc.Capset(null, null);
        Libc.CloseRange(1, 0, 0);
        Libc.Umask(Libc.Umask(0x12));
        Libc.MoveMount(-1, ""); // the idmapped rootfs of a job in a user namespace is attached with it
        Libc.FsOpen("", Libc.FSOPEN_CLOEXEC); // the capped layer's tmpfs
        Libc.FsConfig(-1, Libc.FSCONFIG_SET_STRING, "", "", 0);
        Libc.FsMount(-1, 0, 0);
        _ = JobDirectory.LayerNames.Length + JobDirectory.LayerNamesInUserNamespace.Length;
        FdPassing.Warm();
        Security.Keyring.Warm();
        Security.SeccompFilter.Warm();
        KernelSigaction old;
        Libc.SignalAction(Libc.SIGPIPE, null, &old);
        ulong mask;
        Libc.SignalMask(0, null, &mask);
        _ = Libc.TryStat("", 0, out _, out _);
        _ = Errno.Name(Errno.ENOENT);
        Errno.Check(0, "warm");
        _ = System.Text.Encoding.ASCII.GetBytes("warm");
        var native = ExecPreparation.NativeArray(["warm"]);
        System.Runtime.InteropServices.NativeMemory.Free(native[0]);
        System.Runtime.InteropServices.NativeMemory.Free(native);
    }
}
