using Lcluster.Daemon.Api;
using Lcluster.Daemon.Hosting;
using Lcluster.Daemon.Metrics;
using Lcluster.Daemon.Store;
using Lcluster.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Lcluster.Daemon.Web;

/// <summary>
/// Everything the node serves over plain HTTP (docs/http.md), put together once: its endpoints, the JSON API, the
/// dashboard, /metrics, and the dashboard's tokens. The API server hands it Kestrel's options and the app.
/// </summary>
internal sealed class WebSurface : IDisposable
{
    private readonly DaemonOptions _options;
    private readonly TlsIdentity? _tls;
    private readonly Log _log;
    private readonly HttpApi _api;
    private readonly Dashboard _dashboard;
    private readonly MetricsEndpoint _metrics;

    public WebSurface(DaemonOptions options, TlsIdentity? tls, ApiMethods api, JobStore store, CallLimits calls, Log log)
    {
        _options = options;
        _tls = tls;
        _log = log;
        var tokens = new DashboardTokens();
        DashboardApi = new DashboardApi(tokens, options.Web.Listen, tls is not null, options.AdvertiseAddress, options.Web.TokenLifetime);
        _api = new HttpApi(api, DashboardApi, new WebIdentity(tokens), calls, log);
        _dashboard = new Dashboard();
        _metrics = new MetricsEndpoint(new ClusterGauges(store, log));
    }

    /// <summary>CreateDashboardToken, for the gRPC service too.</summary>
    public DashboardApi DashboardApi { get; }

    private string SocketPath => _options.Web.SocketPath;

    public void Listen(KestrelServerOptions kestrel, EndpointLimits limits) => HttpEndpoints.Listen(kestrel, _options.Web, SocketPath, _tls, limits, _options.AdvertiseAddress, _log);

    public void Map(WebApplication app)
    {
        _api.Map(app);
        _metrics.Map(app, _api);
        _dashboard.Map(app);
    }

    /// <summary>Before binding: the socket file a dead daemon left is removed (one a live daemon answers on is refused).</summary>
    public void BeforeStart() => LocalSocket.ClearLeftover(SocketPath);

    /// <summary>Once bound: the socket file gets the gRPC socket's mode and group.</summary>
    public void AfterStart() => LocalSocket.Restrict(SocketPath, _options.Security.SocketGroup);

    public void Dispose()
    {
        _metrics.Dispose();
        File.Delete(SocketPath);
    }
}
