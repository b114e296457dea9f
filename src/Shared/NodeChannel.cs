using Grpc.Net.Client;

namespace Lcluster.Shared;

/// <summary>How a client (lclusterc, or a node proxying to another) opens a gRPC channel to an lclusterd node.</summary>
internal static class NodeChannel
{
    public const string DefaultAddress = "127.0.0.1:64051";

    /// <summary>The largest message either side takes: a page of jobs, a chunk of output.</summary>
    public const int MaxMessageBytes = 16 << 20;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>A channel to "host:port" (cleartext HTTP/2) or an http:// or https:// URL; ArgumentException when it is neither.</summary>
    public static GrpcChannel Open(string address)
    {
        var text = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.Host.Length == 0 || uri.AbsolutePath != "/" || uri.Query.Length > 0)
            throw new ArgumentException($"'{address}' is not a node address: use HOST:PORT, like {DefaultAddress}");
        return GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = ConnectTimeout,
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
            },
            MaxReceiveMessageSize = MaxMessageBytes,
            MaxSendMessageSize = MaxMessageBytes,
            DisposeHttpClient = true,
        });
    }
}
