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

    public const short POLLHUP = 0x10;

    [LibraryImport(Lib, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollEntry* entries, nuint count, int timeoutMilliseconds);

    /// <summary>Whether the other end of a connected socket is closed: poll(2) reports POLLHUP at once, asked for or not.</summary>
    public static bool PeerClosed(int fd)
    {
        var entry = new PollEntry { Fd = fd };
        return Poll(&entry, 1, 0) == 1 && (entry.Returned & POLLHUP) != 0;
    }
}

/// <summary>struct pollfd.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PollEntry
{
    public int Fd;
    public short Events, Returned;
}

/// <summary>struct ifreq with the flags member of its union.</summary>
[StructLayout(LayoutKind.Sequential, Size = 40)]
internal unsafe struct InterfaceRequest
{
    public fixed byte Name[16];
    public short Flags;
}

/// <summary>libc: who is at the other end of a Unix socket.</summary>
internal static unsafe partial class Libc
{
    public const int SO_PEERCRED = 17;

    [LibraryImport(Lib, EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(int fd, int level, int name, void* value, uint* length);

    /// <summary>getpwuid_r(3): the passwd entry of a uid, through NSS; returns an error number (0: ok, result null: no such user).</summary>
    [LibraryImport(Lib, EntryPoint = "getpwuid_r")]
    public static partial int GetPwUidR(uint uid, Passwd* entry, byte* buffer, nuint length, Passwd** result);

    /// <summary>getgrnam_r(3): the group entry of a name, through NSS; returns an error number (0: ok, result null: no such group).</summary>
    [LibraryImport(Lib, EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int GetGrNamR(string name, Group* entry, byte* buffer, nuint length, Group** result);

    [LibraryImport(Lib, EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, uint owner, uint group);
}

/// <summary>struct group (only gr_gid is read).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Group
{
    public byte* Name;
    public byte* Password;
    public uint Gid;
    public byte** Members;
}

/// <summary>struct ucred.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PeerCred
{
    public int Pid;
    public uint Uid;
    public uint Gid;
}

/// <summary>struct passwd (only pw_name is read).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Passwd
{
    public byte* Name;
    public byte* Password;
    public uint Uid;
    public uint Gid;
    public byte* Gecos;
    public byte* Dir;
    public byte* Shell;
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

/// <summary>A control message carrying up to three fds (struct cmsghdr + int[3]: CMSG_SPACE(3 * sizeof(int)) = 32).</summary>
[StructLayout(LayoutKind.Sequential, Size = Space)]
internal unsafe struct FdControlMessage
{
    public const int Space = 32, HeaderBytes = 16, MaxFds = 3;
    public nuint MessageLength;
    public int Level, Type;
    public fixed int Fds[MaxFds];

    /// <summary>CMSG_LEN for <paramref name="count"/> fds.</summary>
    public static int Length(int count) => HeaderBytes + count * sizeof(int);
}
