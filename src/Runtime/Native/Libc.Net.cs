using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>libc: the little networking the runtime needs (loopback up in the init; the control socket that carries a mount fd).</summary>
internal static unsafe partial class Libc
{
    public const int AF_UNIX = 1, AF_INET = 2, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_CMSG_CLOEXEC = 0x40000000;
    public const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    public const short IFF_UP = 1;

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Lib, EntryPoint = "socketpair", SetLastError = true)]
    public static partial int SocketPair(int domain, int type, int protocol, int* fds);

    [LibraryImport(Lib, EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(int fd, MessageHeader* message, int flags);

    [LibraryImport(Lib, EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint RecvMsg(int fd, MessageHeader* message, int flags);

    /// <summary>A connected pair of Unix stream sockets, both close-on-exec; returns (one end, the other end).</summary>
    public static (int First, int Second) MakeSocketPair(string purpose)
    {
        int* fds = stackalloc int[2];
        Errno.Check(SocketPair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), "socketpair", purpose);
        return (fds[0], fds[1]);
    }

    [LibraryImport(Lib, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, ulong request, InterfaceRequest* request2);
}

/// <summary>struct ifreq with the flags member of its union.</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
internal unsafe struct InterfaceRequest
{
    public fixed byte Name[16];
    public short Flags;
}

/// <summary>struct msghdr (64-bit).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MessageHeader
{
    public void* Name;
    public uint NameLength;
    public IoVector* Vectors;
    public nuint VectorCount;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVector
{
    public void* Base;
    public nuint Length;
}

/// <summary>A control message carrying up to two fds (struct cmsghdr + int[2]: CMSG_SPACE(2 * sizeof(int)) = 24).</summary>
[StructLayout(LayoutKind.Sequential, Size = Space)]
internal unsafe struct FdControlMessage
{
    public const int Space = 24, HeaderBytes = 16, MaxFds = 2;
    public nuint MessageLength;
    public int Level, Type;
    public fixed int Fds[MaxFds];

    /// <summary>CMSG_LEN for <paramref name="count"/> fds.</summary>
    public static int Length(int count) => HeaderBytes + count * sizeof(int);
}
