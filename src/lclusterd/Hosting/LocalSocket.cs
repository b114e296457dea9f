using System.Net.Sockets;
using Lcluster.Runtime.Host;
using Lcluster.Runtime;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// The node's Unix socket file: a leftover of a dead daemon is removed before binding (one a
/// live daemon answers on is refused), and once bound it is made mode 0660 with the group
/// that may use it.
/// </summary>
internal static class LocalSocket
{
    private const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    public static void ClearLeftover(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            return;
        if (Directory.Exists(path))
            throw new DaemonStartException($"--socket {path} is a directory");
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path); // nobody answers: a dead daemon's
            return;
        }
        throw new DaemonStartException($"--socket {path} is in use by another lclusterd: give each daemon its own --socket");
    }

    /// <summary>0660, owned by root and the group (root only when no group is given).</summary>
    public static void Restrict(string path, string? group)
    {
        uint gid = 0;
        if (group is not null)
            gid = HostAccounts.GroupId(group) ?? throw new DaemonStartException($"--socket-group {group}: no such group (create it with `groupadd {group}`)");
        HostAccounts.Chown(path, 0, gid);
        File.SetUnixFileMode(path, Mode);
    }
}
