using Grpc.Health.V1;
using Grpc.HealthCheck;

namespace Lcluster.Daemon.Node;

/// <summary>
/// What grpc.health.v1.Health answers for this node: SERVING while it is registered and
/// etcd has confirmed its lease within one TTL, NOT_SERVING otherwise. The same answer
/// for the whole server ("") and for lcluster.v1.Lclusterd.
/// </summary>
internal sealed class NodeHealth(HealthServiceImpl health)
{
    public const string Service = "lcluster.v1.Lclusterd";

    private readonly Lock _lock = new();
    private bool? _serving;

    public void Set(bool serving)
    {
        lock (_lock)
        {
            if (_serving == serving)
                return;
            _serving = serving;
            var status = serving ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing;
            health.SetStatus("", status);
            health.SetStatus(Service, status);
        }
    }
}
