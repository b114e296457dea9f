using System.Net.Security;
using Grpc.Net.Client;

namespace Lcluster.Shared;

/// <summary>
/// How a client (lclusterc, or a node proxying to another) opens a gRPC channel to an lclusterd
/// node: over its Unix socket ("unix:PATH"), or over TCP ("HOST:PORT"), with mutual TLS when
/// the client has a certificate.
/// </summary>
internal static class NodeChannel
{
    /// <summary>Where a node listens on TCP unless told otherwise.</summary>
    public const string DefaultAddress = "127.0.0.1:64051";

    /// <summary>Where a node's local endpoint is unless told otherwise; lclusterc's default server.</summary>
    public const string DefaultSocket = "/run/lclusterd.sock";

    public const string UnixScheme = "unix:";

    /// <summary>
    /// The most a node takes in one request message (gRPC) or JSON body: the largest request it accepts is an AddJob
    /// of about 1.4 MiB (1 MiB of stdin), and each call's message is held in memory whole before it is checked.
    /// </summary>
    public const int MaxRequestBytes = 4 << 20;

    /// <summary>The largest message either side takes: a page of jobs, a chunk of output.</summary>
    public const int MaxMessageBytes = 16 << 20;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A channel to "unix:PATH", or to "HOST:PORT" (mutual TLS with <paramref name="tls"/>,
    /// cleartext HTTP/2 without); ArgumentException when the address is neither.
    /// </summary>
    public static GrpcChannel Open(string address, SslClientAuthenticationOptions? tls = null)
    {
        if (address.StartsWith(UnixScheme, StringComparison.Ordinal))
        {
            var path = address[UnixScheme.Length..].TrimStart('/').Insert(0, "/");
            var handler = Handler(null);
            handler.ConnectCallback = UnixSocketConnector.To(path);
            return Create(new Uri("http://localhost"), handler);
        }
        var text = (tls is null ? "http://" : "https://") + address;
        if (address.Contains("://", StringComparison.Ordinal) || !Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || uri.Host.Length == 0 || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.IsDefaultPort)
            throw new ArgumentException($"'{address}' is not a node address: use HOST:PORT, like {DefaultAddress}, or unix:PATH, like unix:{DefaultSocket}");
        return Create(uri, Handler(tls));
    }

    private static GrpcChannel Create(Uri uri, SocketsHttpHandler handler) =>
        GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = MaxMessageBytes,
            MaxSendMessageSize = MaxMessageBytes,
            DisposeHttpClient = true,
        });

    private static SocketsHttpHandler Handler(SslClientAuthenticationOptions? tls)
    {
        var handler = new SocketsHttpHandler
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
        };
        if (tls is not null)
            handler.SslOptions = tls;
        return handler;
    }
}
