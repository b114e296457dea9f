using Lcluster.Daemon.Security;

namespace Lcluster.Daemon.Hosting;

/// <summary>Who may reach this node, and how it proves itself to etcd (docs/security.md).</summary>
internal sealed record SecurityOptions
{
    /// <summary>The local endpoint: a Unix socket, mode 0660; a caller is the user the kernel says it is.</summary>
    public string SocketPath { get; init; } = Shared.NodeChannel.DefaultSocket;

    /// <summary>The group that may use the socket besides root; null: root only.</summary>
    public string? SocketGroup { get; init; }

    /// <summary>Mutual TLS on --listen: the node's certificate, and the cluster CA every client certificate must chain to.</summary>
    public TlsFiles? Tls { get; init; }

    /// <summary>--listen without TLS, every caller on it an admin: only for a network nobody else can reach.</summary>
    public bool Insecure { get; init; }

    /// <summary>Client certificate for an external etcd (the embedded one makes its own).</summary>
    public TlsFiles? EtcdTls { get; init; }
}
