using System.Net;
using Grpc.HealthCheck;
using Lcluster.Daemon.Api;
using Lcluster.Daemon.Security;
using Lcluster.Daemon.Web;
using Lcluster.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lcluster.Daemon.Hosting;

/// <summary>
/// The node's gRPC endpoints: Kestrel serving lcluster.v1.Lclusterd, grpc.health.v1.Health
/// and server reflection over HTTP/2 — on a Unix socket for local users, and on --listen with
/// mutual TLS (or, --insecure, without). Each connection gets its caller's identity
/// (<see cref="Identity"/>). Its start and stop belong to the daemon (no signal handling, no
/// configuration read from the environment).
/// </summary>
internal sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SecurityOptions _security;
    private readonly WebSurface _web;

    private ApiServer(WebApplication app, SecurityOptions security, WebSurface web)
    {
        _app = app;
        _security = security;
        _web = web;
    }

    public static ApiServer Create(IPEndPoint listen, TimeSpan keepAlive, SecurityOptions security, TlsIdentity? tls, LclusterdService service, HealthServiceImpl health,
        WebSurface web, CallLimits calls, Log log)
    {
        // The empty builder: no configuration files or environment variables read, no default logging; only what is added here.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], EnvironmentName = Environments.Production });
        builder.Logging.AddProvider(new LogForwarder(log));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton<IHostLifetime, DaemonLifetime>();
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // A connection with no stream open is closed after this; one still in its TLS handshake after Kestrel's 10 s.
            kestrel.Limits.KeepAliveTimeout = ConnectionLimits.IdleTimeout;
            // An HTTP/2 connection that sends nothing for keepAlive is pinged, and closed when no answer comes within as long
            // again: a client that vanished (its host down, a link cut) would hold its calls and their count for good.
            kestrel.Limits.Http2.KeepAlivePingDelay = keepAlive;
            kestrel.Limits.Http2.KeepAlivePingTimeout = keepAlive;
            // One count for the local sockets and one for TCP, each shared by the gRPC and HTTP endpoints of its kind:
            // the descriptors a flood can take are bounded by the two totals, whichever endpoints it opens.
            var limits = new EndpointLimits(
                new ConnectionLimits("socket", ConnectionLimits.SocketTotal, ConnectionLimits.PerPeer, log),
                new ConnectionLimits("TCP", ConnectionLimits.TcpTotal, ConnectionLimits.PerPeer, log));
            kestrel.ListenUnixSocket(security.SocketPath, endpoint =>
            {
                endpoint.Protocols = HttpProtocols.Http2;
                endpoint.Use(Identity.FromPeerCredentials(log));
                endpoint.Use(limits.Socket.Middleware);
            });
            kestrel.Listen(listen, endpoint =>
            {
                endpoint.Protocols = HttpProtocols.Http2;
                endpoint.Use(limits.Tcp.Middleware);
                if (tls is not null)
                {
                    endpoint.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = tls.Certificate,
                        ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate,
                        ClientCertificateValidation = (certificate, _, _) => tls.Trusts(certificate, asClient: true),
                    });
                }
            });
            web.Listen(kestrel, limits); // the HTTP/JSON API, dashboard and metrics: endpoints of their own (docs/http.md)
        });
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = NodeChannel.MaxRequestBytes;
            grpc.MaxSendMessageSize = NodeChannel.MaxMessageBytes;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton(service);
        builder.Services.AddSingleton(health);
        var app = builder.Build();
        // gRPC is served on --socket and --listen only. The HTTP endpoints take callers without a certificate (a
        // browser with a token): there health, reflection and streams held open would be anyone's who reaches the port.
        app.Use(async (http, next) =>
        {
            if (http.Features.Get<HttpSurface>() is not null
                && http.Request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            await next(http);
        });
        app.Use(Identity.FromConnection(security.Insecure));
        app.Use(calls.GrpcMiddleware);
        app.MapGrpcService<LclusterdService>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        web.Map(app);
        return new ApiServer(app, security, web);
    }

    /// <summary>Binds and serves, the socket file restricted; IOException when an address cannot be bound.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        LocalSocket.ClearLeftover(_security.SocketPath);
        _web.BeforeStart();
        await _app.StartAsync(ct);
        LocalSocket.Restrict(_security.SocketPath, _security.SocketGroup);
        _web.AfterStart();
    }

    /// <summary>Where it listens, as bound.</summary>
    public string BoundAddresses =>
        string.Join(" and ", _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []);

    public async ValueTask DisposeAsync()
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(grace.Token);
        await _app.DisposeAsync();
        File.Delete(_security.SocketPath);
    }

    /// <summary>The daemon handles SIGINT/SIGTERM itself and stops the server in its own order.</summary>
    private sealed class DaemonLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
