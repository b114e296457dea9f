using Lcluster.Runtime.Native;
using Microsoft.Win32.SafeHandles;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// fds over a Unix stream socket (SCM_RIGHTS on a one-byte message): how the daemon hands an init in a user
/// namespace its job's idmapped rootfs mount and its job directory.
/// </summary>
internal static unsafe class FdPassing
{
    private const int MSG_NOSIGNAL = 0x4000;

    /// <summary>Sends the fds (the receiver gets its own copies); throws naming <paramref name="what"/>.</summary>
    public static void Send(SafePipeHandle socket, ReadOnlySpan<int> fds, string what)
    {
        if (fds.Length is 0 or > FdControlMessage.MaxFds)
            throw new ArgumentException($"1 to {FdControlMessage.MaxFds} fds per message, not {fds.Length}");
        var added = false;
        socket.DangerousAddRef(ref added);
        try
        {
            byte tag = 1;
            var vector = new IoVector { Base = &tag, Length = 1 };
            var control = new FdControlMessage
            {
                MessageLength = (nuint)FdControlMessage.Length(fds.Length), Level = Libc.SOL_SOCKET, Type = Libc.SCM_RIGHTS,
            };
            for (var i = 0; i < fds.Length; i++)
                control.Fds[i] = fds[i];
            var message = new MessageHeader { Vectors = &vector, VectorCount = 1, Control = &control, ControlLength = FdControlMessage.Space };
            Errno.Check(Libc.SendMsg((int)socket.DangerousGetHandle(), &message, MSG_NOSIGNAL), "sendmsg", what);
        }
        finally
        {
            if (added)
                socket.DangerousRelease();
        }
    }

    /// <summary>
    /// Fills <paramref name="fds"/> with the fds sent on <paramref name="socket"/> (close-on-exec): returns how many
    /// came, at least <paramref name="least"/>; 0 when the sender closed the socket first.
    /// </summary>
    public static int Receive(int socket, Span<int> fds, int least)
    {
        byte tag = 0;
        var vector = new IoVector { Base = &tag, Length = 1 };
        var control = new FdControlMessage();
        var message = new MessageHeader { Vectors = &vector, VectorCount = 1, Control = &control, ControlLength = FdControlMessage.Space };
        nint received;
        while ((received = Libc.RecvMsg(socket, &message, Libc.MSG_CMSG_CLOEXEC)) == -1 && Errno.Last == Errno.EINTR)
        {
        }
        if (received <= 0)
            return 0;
        var count = ((int)control.MessageLength - FdControlMessage.HeaderBytes) / sizeof(int);
        if (control.Level != Libc.SOL_SOCKET || control.Type != Libc.SCM_RIGHTS || count < least || count > fds.Length
            || (int)control.MessageLength != FdControlMessage.Length(count))
            throw new InvalidDataException("the control socket's first message did not carry the fds the daemon sends first");
        for (var i = 0; i < count; i++)
            fds[i] = control.Fds[i];
        return count;
    }

    /// <summary>Binds the native entry point the job-time path uses (a bad fd fails at once).</summary>
    public static void Warm() => _ = Libc.RecvMsg(-1, null, 0);
}
