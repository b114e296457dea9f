namespace Lcluster.Rpc;

/// <summary>What a handler knows about the call it serves.</summary>
public sealed class ServerCallContext
{
    internal ServerCallContext(CancellationToken cancellationToken, DateTimeOffset? deadline, string peer, string method)
    {
        CancellationToken = cancellationToken;
        Deadline = deadline;
        Peer = peer;
        Method = method;
    }

    /// <summary>Fires when the client cancels (RST_STREAM), the deadline passes, or the server stops.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>From the client's grpc-timeout; null when it sent none.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>"ipv4:1.2.3.4:5678" or "ipv6:[::1]:5678".</summary>
    public string Peer { get; }

    /// <summary>"/pkg.Service/Method".</summary>
    public string Method { get; }
}
