using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>
/// libseccomp (Debian's libseccomp2): builds the container's syscall filter
/// and loads it. Its calls return a negative errno instead of setting errno.
/// </summary>
internal static unsafe partial class LibSeccomp
{
    private const string Lib = "libseccomp.so.2";

    public const uint SCMP_ACT_ALLOW = 0x7fff0000;
    private const uint SCMP_ACT_ERRNO_BASE = 0x00050000;
    /// <summary>seccomp_syscall_resolve_name's answer for a name this libseccomp does not know.</summary>
    public const int NR_SCMP_ERROR = -1;
    public const uint SCMP_ARCH_X86 = 0x40000003, SCMP_ARCH_X86_64 = 0xc000003e, SCMP_ARCH_X32 = 0x4000003e;

    public static uint ActErrno(int errno) => SCMP_ACT_ERRNO_BASE | ((uint)errno & 0xffff);

    [LibraryImport(Lib, EntryPoint = "seccomp_init")]
    public static partial nint Init(uint defaultAction);

    [LibraryImport(Lib, EntryPoint = "seccomp_release")]
    public static partial void Release(nint context);

    [LibraryImport(Lib, EntryPoint = "seccomp_arch_add")]
    public static partial int ArchAdd(nint context, uint archToken);

    [LibraryImport(Lib, EntryPoint = "seccomp_syscall_resolve_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ResolveName(string name);

    [LibraryImport(Lib, EntryPoint = "seccomp_rule_add_array")]
    public static partial int RuleAddArray(nint context, uint action, int syscall, uint count, ArgumentCompare* arguments);

    [LibraryImport(Lib, EntryPoint = "seccomp_export_bpf")]
    public static partial int ExportBpf(nint context, int fd);

    /// <summary>Throws for a libseccomp call that returned a negative errno.</summary>
    public static int Check(int result, string call, string? target = null) =>
        result < 0 ? throw new NativeCallException(call, target, -result) : result;
}

/// <summary>struct scmp_arg_cmp.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ArgumentCompare
{
    public uint Argument;
    public int Op;
    public ulong DatumA, DatumB;
}
