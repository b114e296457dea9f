using System.Text;
using Lcluster.Daemon.Web;
using Lcluster.Etcd;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lcluster.Daemon.Metrics;

/// <summary>
/// GET /metrics on the HTTP endpoints (docs/http.md): the daemon's meters (<see cref="DaemonMetrics"/>,
/// <see cref="ClusterGauges"/>, <see cref="EtcdMetrics"/>) in Prometheus text format (<see cref="PrometheusExporter"/>).
/// Any caller the node knows may read them — socket users, certificate holders, dashboard tokens: they are counts
/// and sizes, with no job's owner, name or command in them. The cluster's gauges are read from etcd for each
/// scrape, not cached.
/// </summary>
internal sealed class MetricsEndpoint(ClusterGauges gauges) : IDisposable
{
    // Listening from the start: the counters count from the daemon's start, not from the first scrape.
    private readonly PrometheusExporter _exporter = new(DaemonMetrics.MeterName, EtcdMetrics.MeterName);

    public void Map(IEndpointRouteBuilder app, HttpApi api) =>
        app.MapMethods(HttpRoutes.Metrics.Path, [HttpRoutes.Metrics.Method], http => api.RunAsync(http, HttpRoutes.Metrics, async (_, _) =>
        {
            await gauges.RefreshAsync(http.RequestAborted);
            var text = new StringBuilder();
            _exporter.Write(text);
            http.Response.ContentType = PrometheusExporter.ContentType;
            await http.Response.WriteAsync(text.ToString(), http.RequestAborted);
        }));

    public void Dispose()
    {
        _exporter.Dispose();
        gauges.Dispose();
    }
}
