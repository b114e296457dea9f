using Lcluster.Daemon.Hosting;
using Lcluster.Shared;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Lcluster.Daemon.Web;

/// <summary>Put on the connections of the HTTP endpoints: only they serve /v1/, /ui/ and /metrics; the gRPC endpoints stay gRPC only.</summary>
internal sealed class HttpSurface
{
    public static readonly HttpSurface Instance = new();

    /// <summary>Whether the connection is TLS.</summary>
    public bool Tls { get; init; }

    /// <summary>On plain HTTP over TCP, the names besides IP addresses a request's Host may give (<see cref="CrossSite"/>); null: any.</summary>
    public IReadOnlySet<string>? Names { get; init; }
}

/// <summary>
/// The node's HTTP endpoints in Kestrel (docs/http.md): a Unix socket of its own — Kestrel speaks only HTTP/1.1
/// on a cleartext endpoint that also allows HTTP/2, and the gRPC socket needs HTTP/2 with prior knowledge — and,
/// with --http-listen, a TCP endpoint: HTTP/1.1 and HTTP/2 (by ALPN) under TLS with the node's certificate, where a
/// client certificate of the cluster CA names the caller and a browser without one signs in with a dashboard
/// token; plain HTTP/1.1 without TLS, on loopback or with --insecure.
/// </summary>
internal static class HttpEndpoints
{
    public static void Listen(KestrelServerOptions kestrel, WebOptions web, string socketPath, TlsIdentity? tls, EndpointLimits limits, string advertise, Log log)
    {
        kestrel.ListenUnixSocket(socketPath, endpoint =>
        {
            endpoint.Protocols = HttpProtocols.Http1;
            endpoint.Use(Identity.FromPeerCredentials(log));
            endpoint.Use(limits.Socket.Middleware);
            endpoint.Use(Mark(HttpSurface.Instance));
        });
        if (web.Listen is not { } listen)
            return;
        kestrel.Listen(listen, endpoint =>
        {
            endpoint.Use(limits.Tcp.Middleware); // before TLS: a handshake never finished holds a descriptor too
            if (tls is null)
            {
                endpoint.Protocols = HttpProtocols.Http1;
                endpoint.Use(Mark(new HttpSurface { Names = CrossSite.NodeNames(advertise) }));
                return;
            }
            endpoint.Protocols = HttpProtocols.Http1AndHttp2;
            endpoint.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = tls.Certificate,
                // A browser has no certificate of ours: it may come without one and sign in with a token.
                ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                ClientCertificateValidation = (certificate, _, _) => tls.Trusts(certificate, asClient: true),
            });
            endpoint.Use(Mark(new HttpSurface { Tls = true }));
        });
    }

    /// <summary>--http-listen off loopback needs TLS or --insecure, as --listen does; the message says what to do.</summary>
    public static string? Refusal(WebOptions web, SecurityOptions security) =>
        web.Listen is { } listen && security.Tls is null && !security.Insecure && !Identity.IsLoopback(listen)
            ? $"--http-listen {listen} is not a loopback address, and the node has no certificate: give it one (--tls-ca, --tls-cert, --tls-key) " +
              "or, on a network nobody else can reach, --insecure"
            : null;

    private static Func<ConnectionDelegate, ConnectionDelegate> Mark(HttpSurface surface) => next => connection =>
    {
        connection.Features.Set(surface);
        return next(connection);
    };
}
