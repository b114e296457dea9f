using System.Runtime.InteropServices;

namespace Lcluster.Runtime.Native;

/// <summary>libc: the little networking the init needs (bringing loopback up).</summary>
internal static unsafe partial class Libc
{
    public const int AF_INET = 2, SOCK_DGRAM = 2, SOCK_CLOEXEC = 0x80000;
    public const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    public const short IFF_UP = 1;

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

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
