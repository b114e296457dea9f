using System.Diagnostics.Metrics;
using Lcluster.Daemon.Api;
using Lcluster.Daemon.Web;
using Lcluster.Etcd;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Lcluster.Daemon.Metrics;

/// <summary>
/// GET /metrics on the HTTP endpoints (docs/http.md): the daemon's meters (<see cref="DaemonMetrics"/>,
/// <see cref="ClusterGauges"/>, <see cref="EtcdMetrics"/>) exported in Prometheus text format by OpenTelemetry's
/// exporter. Any caller the node knows may read them — socket users, certificate holders, dashboard tokens: they
/// are counts and sizes, with no job's owner, name or command in them. The cluster's gauges are read from etcd for
/// each scrape, not cached.
/// </summary>
internal sealed class MetricsEndpoint : IDisposable
{
    /// <summary>Points kept for an instrument with no label, or labels from a short fixed list (a job state; an etcd request and how it failed).</summary>
    internal const int FewPoints = 64;

    private readonly MeterProvider _provider;
    private readonly ClusterGauges _gauges;

    public MetricsEndpoint(ClusterGauges gauges)
    {
        _gauges = gauges;
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(DaemonMetrics.MeterName, EtcdMetrics.MeterName)
            .AddView(Points)
            .AddPrometheusExporter(exporter =>
            {
                exporter.ScrapeEndpointPath = HttpRoutes.Metrics.Path;
                // Each scrape sees the cluster as it is now (the gauges are read for it).
                exporter.ScrapeResponseCacheDurationMilliseconds = 0;
                // The daemon's own metrics only: no target_info, no otel_scope labels on every line.
                exporter.TargetInfoEnabled = false;
                exporter.ScopeInfoEnabled = false;
            })
            .Build();
    }

    /// <summary>
    /// How many points (label sets) an instrument keeps. OpenTelemetry allocates an instrument's whole table of points when
    /// it first sees it, 2,000 by default: about 140 KB each, nearly 3 MB for the daemon's instruments, held for its life.
    /// Only those labelled by node need room for a cluster's nodes (null: the default); the others get <see cref="FewPoints"/>.
    /// </summary>
    internal static MetricStreamConfiguration? Points(Instrument instrument) =>
        DaemonMetrics.LabelledByNode(instrument.Name) ? null : new MetricStreamConfiguration { CardinalityLimit = FewPoints };

    public void Map(IEndpointRouteBuilder app, HttpApi api) =>
        app.MapPrometheusScrapingEndpoint(HttpRoutes.Metrics.Path, _provider, branch => branch.Use(async (http, next) =>
        {
            // The same frame as the API's routes: HTTP endpoints only, a known caller, errors as JSON.
            await api.RunAsync(http, HttpRoutes.Metrics, async (_, _) =>
            {
                await _gauges.RefreshAsync(http.RequestAborted);
                await next(http);
            });
        }), null);

    public void Dispose()
    {
        _provider.Dispose();
        _gauges.Dispose();
    }
}
