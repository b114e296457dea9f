using System.Net;

namespace Lcluster.Daemon.Web;

/// <summary>Where the node serves its HTTP/JSON API, the dashboard and /metrics (docs/http.md).</summary>
internal sealed record WebOptions
{
    /// <summary>The TCP endpoint (--http-listen), under the same TLS and --insecure rules as --listen; null: none.</summary>
    public IPEndPoint? Listen { get; init; }

    /// <summary>The HTTP Unix socket (--http-socket) for local users; by default beside the gRPC socket (<see cref="SocketBeside"/>).</summary>
    public string SocketPath { get; init; } = SocketBeside(Shared.NodeChannel.DefaultSocket);

    /// <summary>How long a dashboard token (the link `lclusterc --dashboard` prints) lasts; a stream it opened ends with it.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>"/run/lclusterd.sock" → "/run/lclusterd-http.sock": each daemon's HTTP socket follows its own --socket.</summary>
    public static string SocketBeside(string grpcSocket) =>
        grpcSocket.EndsWith(".sock", StringComparison.Ordinal) ? grpcSocket[..^".sock".Length] + "-http.sock" : grpcSocket + "-http";
}
