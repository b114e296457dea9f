using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>A failed native call: names the call, what it was applied to, and the errno.</summary>
internal sealed class NativeCallException(string call, string? target, int errno)
    : IOException(Format(call, target, errno))
{
    public string Call { get; } = call;
    public string? Target { get; } = target;
    public int ErrorNumber { get; } = errno;

    private static string Format(string call, string? target, int errno) =>
        target is null
            ? $"{call}: {Native.Errno.Name(errno)} ({Native.Errno.Describe(errno)})"
            : $"{call} {target}: {Native.Errno.Name(errno)} ({Native.Errno.Describe(errno)})";
}

/// <summary>errno values the runtime reacts to, and their names for messages.</summary>
internal static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, ECHILD = 10,
        EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENOTDIR = 20,
        EINVAL = 22, ENOSPC = 28, EROFS = 30, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40;

    private static readonly string[] Names =
    [
        "0", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD",
        "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR",
        "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS",
        "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP",
    ];

    public static string Name(int errno) => errno >= 0 && errno < Names.Length ? Names[errno] : $"errno {errno}";

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>The errno of the last native call made with SetLastError.</summary>
    public static int Last => Marshal.GetLastPInvokeError();

    public static NativeCallException Fail(string call, string? target = null) => new(call, target, Last);

    /// <summary>Throws when a libc call returned -1.</summary>
    public static int Check(int result, string call, string? target = null) =>
        result == -1 ? throw Fail(call, target) : result;

    public static nint Check(nint result, string call, string? target = null) =>
        result == -1 ? throw Fail(call, target) : result;
}
