using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>Brings "lo" up in the container's fresh network namespace.</summary>
internal static unsafe class Loopback
{
    public static void Up()
    {
        var fd = Errno.Check(Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0), "socket", "loopback");
        try
        {
            var request = new InterfaceRequest();
            request.Name[0] = (byte)'l';
            request.Name[1] = (byte)'o';
            Errno.Check(Libc.Ioctl(fd, Libc.SIOCGIFFLAGS, &request), "read flags of", "lo");
            request.Flags |= Libc.IFF_UP;
            Errno.Check(Libc.Ioctl(fd, Libc.SIOCSIFFLAGS, &request), "bring up", "lo");
        }
        finally
        {
            Libc.Close(fd);
        }
    }
}
