using System.Runtime.InteropServices;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Host;

/// <summary>The process at the other end of a Unix socket, as the kernel vouches for it (SO_PEERCRED).</summary>
public sealed record PeerCredentials(int Pid, uint Uid, uint Gid)
{
    /// <summary>Reads the peer of a connected Unix socket; throws IOException naming the call when the kernel cannot say.</summary>
    public static unsafe PeerCredentials Of(SafeHandle socket)
    {
        var added = false;
        socket.DangerousAddRef(ref added);
        try
        {
            PeerCred cred;
            var length = (uint)sizeof(PeerCred);
            Errno.Check(Libc.GetSockOpt((int)socket.DangerousGetHandle(), Libc.SOL_SOCKET, Libc.SO_PEERCRED, &cred, &length),
                "getsockopt SO_PEERCRED", "unix socket");
            return new PeerCredentials(cred.Pid, cred.Uid, cred.Gid);
        }
        finally
        {
            if (added)
                socket.DangerousRelease();
        }
    }
}
