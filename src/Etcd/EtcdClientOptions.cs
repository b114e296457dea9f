using System.Net.Http;

namespace Lcluster.Etcd;

/// <summary>How an <see cref="EtcdClient"/> talks to etcd.</summary>
public sealed record EtcdClientOptions
{
    /// <summary>How long one unary request may take on one endpoint before it counts as unanswered.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long opening a connection to one endpoint may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>One line per event worth knowing (failover, watch reconnect, lost lease); null for silence.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>How https:// endpoints are reached: the client certificate, and how etcd's certificate is checked. Null: the host's defaults.</summary>
    public System.Net.Security.SslClientAuthenticationOptions? Tls { get; init; }

    /// <summary>How a connection to an endpoint is opened; null: a TCP connection from this process. (Tests dial from inside a network namespace.)</summary>
    public Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? ConnectCallback { get; init; }
}
